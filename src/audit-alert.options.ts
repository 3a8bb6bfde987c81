import {
  fail,
  readBoolean,
  readDuration,
  readObject,
  readString,
  rejectUnknownKeys,
} from './options/option-readers.util.js';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MONITOR_NAME } from './audit-alert.constants.js';
import { directoryProblem, failPath } from './options/path-checks.util.js';
import { type ResolvedChannelOptions, resolveChannels } from './channels/channels.options.js';
import { type ResolvedClusterOptions, resolveClusterOptions } from './cluster/cluster.options.js';
import { type ResolvedHeartbeatOptions, resolveHeartbeatOptions } from './heartbeat/heartbeat.options.js';
import { type ResolvedStateOptions, resolveStateOptions } from './state/state.options.js';
import { type ResolvedLedgerOptions, resolveLedgerOptions } from './ledger/ledger.options.js';
import { type ResolvedScheduledTestAlert, resolveScheduledTestAlert } from './test-alert/test-alert.options.js';
import type { AuditAlertModuleOptions } from './interfaces/audit-alert-module-options.interface.js';

import {
  assertProbesForWhileHealthy,
  MONITOR_SETTINGS,
  resolveDefaultMonitor,
  type ResolvedMonitorOptions,
  resolveMonitors,
} from './monitor/monitor.options.js';

export type { ResolvedMonitorOptions, ResolvedProbeOptions } from './monitor/monitor.options.js';

/** The options with every default filled in, as the module runs with them. */
export interface ResolvedAuditAlertOptions {
  readonly serviceName: string;
  readonly hookTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** At least one; names are unique. */
  readonly monitors: readonly ResolvedMonitorOptions[];
  /** Name of the monitor injected as `AuditStorageMonitor`. */
  readonly defaultMonitor: string;
  /** The built-in alert channels, in the order given. */
  readonly channels: readonly ResolvedChannelOptions[];
  /** Record OpenTelemetry metrics when `@opentelemetry/api` and a MeterProvider are there. */
  readonly metrics: boolean;
  /** Longest silence `silence()` accepts, in milliseconds. */
  readonly maxSilenceMs: number;
  /** Alert deduplication across replicas through Redis; `null` when each replica alerts alone. */
  readonly cluster: ResolvedClusterOptions | null;
  /** The dead man's switch; `null` when there is none. */
  readonly heartbeat: ResolvedHeartbeatOptions | null;
  /** Where a single instance keeps its open outages across restarts; `null`: nowhere (or Redis, with `cluster`). */
  readonly state: ResolvedStateOptions | null;
  /** The evidence ledger; `null` when none is kept. */
  readonly ledger: ResolvedLedgerOptions | null;
  /** Test alerts on a schedule; `null` when off. */
  readonly testAlert: ResolvedScheduledTestAlert | null;
}

export const KNOWN_OPTIONS = [
  'serviceName',
  ...MONITOR_SETTINGS,
  'hookTimeoutMs',
  'shutdownTimeoutMs',
  'monitors',
  'channels',
  'metrics',
  'maxSilenceMs',
  'cluster',
  'heartbeat',
  'state',
  'ledger',
  'testAlert',
] as const satisfies readonly (keyof AuditAlertModuleOptions)[];

/** Longest `serviceName`: it is repeated in every alert, and receivers limit their bodies (PagerDuty to 512 KB). */
const MAX_SERVICE_NAME_LENGTH = 255;

function defaultServiceName(): string {
  const fromEnv = process.env.OTEL_SERVICE_NAME;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : 'unknown_service:node';
}

/**
 * Checks where each monitor with a spool will keep it, `<directory>/<name>`:
 * an existing one must be a directory the process can write to (the spool
 * creates a missing one, 0700), and no two monitors may share one, as two
 * names differing only in letter case do on a case-insensitive file system.
 */
function assertSpoolHomes(options: Record<string, unknown>, monitors: readonly ResolvedMonitorOptions[]): void {
  const entries = Array.isArray(options.monitors) ? (options.monitors as Record<string, unknown>[]) : [undefined];
  const homes = new Map<string, number>();
  monitors.forEach((monitor, index) => {
    if (monitor.spool === null) return;
    const entry = entries[index];
    const own = entry && Object.hasOwn(entry, 'spool') ? entry.spool : undefined;
    const option = own !== undefined ? `monitors[${index}].spool.directory` : 'spool.directory';
    const { directory } = monitor.spool;
    const home = join(directory, monitor.name);
    const problem = directoryProblem(home, { missingIsFine: true, owned: true });
    if (problem !== null) {
      failPath(
        option,
        directory,
        `monitor "${monitor.name}" spools in ${home}, and ${problem}`,
        `a directory whose subdirectory ${monitor.name}, if there, is a directory of the process's user that it can list and write to`,
      );
    }
    // The directory was checked when the spool was resolved: it exists. (Only `monitors` has several.)
    const real = realpathSync(directory);
    const key = join(real, monitor.name.toLowerCase());
    const other = homes.get(key);
    if (other !== undefined) {
      fail(
        `monitors[${index}].name`,
        monitor.name,
        `a name that differs from "${monitors[other]!.name}" by more than letter case: both spool in ${real}, where a case-insensitive file system would give them one subdirectory`,
      );
    }
    homes.set(key, index);
  });
}

/**
 * Validates the options given to the module and fills in the defaults.
 * @throws AuditAlertConfigError naming the first invalid option.
 */
export function resolveAuditAlertOptions(raw: unknown): ResolvedAuditAlertOptions {
  const options = readObject(raw ?? {}, 'options');
  rejectUnknownKeys(options, KNOWN_OPTIONS);
  const serviceName = readString(options, 'serviceName', defaultServiceName());
  if (serviceName.length > MAX_SERVICE_NAME_LENGTH) {
    fail('serviceName', serviceName, `a name of at most ${MAX_SERVICE_NAME_LENGTH} characters`);
  }
  const defaults = resolveDefaultMonitor(options, serviceName);
  const monitors = resolveMonitors(options.monitors, defaults);
  assertProbesForWhileHealthy(options, monitors);
  assertSpoolHomes(options, monitors);
  return {
    serviceName,
    hookTimeoutMs: readDuration(options, 'hookTimeoutMs', 10_000, { min: 1 }),
    shutdownTimeoutMs: readDuration(options, 'shutdownTimeoutMs', 5_000),
    monitors,
    defaultMonitor: (monitors.find((m) => m.name === DEFAULT_MONITOR_NAME) ?? monitors[0]!).name,
    channels: resolveChannels(
      options.channels,
      monitors.map((m) => m.name),
    ),
    metrics: readBoolean(options, 'metrics', true),
    maxSilenceMs: readDuration(options, 'maxSilenceMs', 86_400_000, { min: 1 }),
    cluster: resolveClusterOptions(options.cluster),
    heartbeat: resolveHeartbeatOptions(options.heartbeat),
    state: resolveStateOptions(options.state, options.cluster !== undefined),
    ledger: resolveLedgerOptions(options.ledger),
    testAlert: resolveScheduledTestAlert(options.testAlert),
  };
}

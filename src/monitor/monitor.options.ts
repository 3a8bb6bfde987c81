import {
  fail,
  readBoolean,
  readDuration,
  readItems,
  readObject,
  rejectUnknownKeys,
} from '../options/option-readers.util.js';
import { DEFAULT_MONITOR_NAME } from '../audit-alert.constants.js';
import { type ResolvedCapacityOptions, resolveCapacity } from '../capacity/capacity.options.js';
import { type ResolvedSpoolOptions, resolveSpool } from '../spool/spool.options.js';
import type { AuditAlertLink } from '../channels/channel-link-options.interface.js';
import { readLinks } from '../channels/channel-links.options.js';
import { resolveGapRecord } from '../gap/gap-record.options.js';
import type { AuditGapRecordWriter } from '../gap/gap-record-options.interface.js';
import type { DegradedDetection } from '../tracker/failure-window.js';
import type { AuditErrorClassifier } from '../tracker/error-class.util.js';
import type { AuditMonitorSettings } from '../interfaces/audit-alert-module-options.interface.js';

/** A probe with its defaults filled in. */
export interface ResolvedProbeOptions {
  readonly check: () => unknown;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly whileHealthy: boolean;
}

/** One monitor's settings, inherited from the top level where it sets none. */
export interface ResolvedMonitorOptions {
  readonly name: string;
  readonly serviceName: string;
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
  readonly notifyRecovery: boolean;
  readonly probe: ResolvedProbeOptions | null;
  /** How long a tracked write may stay pending before it counts as a failure; `false`: never. */
  readonly writeTimeoutMs: number | false;
  /** The capacity watch (AU-5(1)); `null` when none is configured. */
  readonly capacity: ResolvedCapacityOptions | null;
  /** Partial-failure detection; `null` when off. */
  readonly degraded: DegradedDetection | null;
  /** How long an alerted outage must see no failure after a success before its recovery is announced. */
  readonly recoveryHoldMs: number;
  /** Which failures are the storage's, which a record's, which to ignore; `null`: every one is the storage's. */
  readonly classify: AuditErrorClassifier | null;
  /** The alternate audit log (AU-5(5)); `null` when none is configured. */
  readonly spool: ResolvedSpoolOptions | null;
  /** Links sent with each of its alerts (runbook, dashboard); empty: none. */
  readonly links: readonly AuditAlertLink[];
  /** Writes the gap of each alerted outage into the application's audit trail; `null` when none is given. */
  readonly gapRecord: AuditGapRecordWriter | null;
}

export const MONITOR_SETTINGS = [
  'enabled',
  'thresholdMs',
  'cooldownMs',
  'notifyRecovery',
  'probe',
  'probeWhileHealthy',
  'writeTimeoutMs',
  'capacity',
  'degraded',
  'recoveryHoldMs',
  'classify',
  'spool',
  'links',
  'gapRecord',
] as const satisfies readonly (keyof AuditMonitorSettings)[];

/**
 * The shortest wait between two alerts of an outage: below it a storage failing
 * thousands of times a second would raise as many alerts, each queued by every
 * channel behind a slow or rate-limiting receiver.
 */
const MIN_COOLDOWN_MS = 1_000;

const NEEDS_PROBE = 'false, or a probe to run: probeWhileHealthy runs the probe while healthy';

/**
 * A monitor's name is also the name of its spool's subdirectory: one path
 * segment, never `.` or `..` (nor a hidden name, nor one a shell would read as
 * an option), so it starts with a letter or a digit.
 */
const MONITOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

const MONITOR_NAME_ALLOWED =
  'a name of 1 to 64 letters, digits, "_", "-", "." or ":", starting with a letter or a digit (it names the directory of its spool)';

function resolveProbe(
  source: Record<string, unknown>,
  inherited: ResolvedProbeOptions | null,
  prefix: string,
): ResolvedProbeOptions | null {
  const whileHealthy = readBoolean(
    source,
    'probeWhileHealthy',
    inherited?.whileHealthy ?? false,
    `${prefix}probeWhileHealthy`,
  );
  if (source.probe === undefined) return inherited && { ...inherited, whileHealthy };
  const path = `${prefix}probe`;
  const probe = readObject(source.probe, path);
  rejectUnknownKeys(probe, ['check', 'intervalMs', 'timeoutMs'], `${path}.`);
  if (typeof probe.check !== 'function') fail(`${path}.check`, probe.check, 'a function returning a promise');
  return {
    check: probe.check as () => unknown,
    intervalMs: readDuration(probe, 'intervalMs', 5_000, { min: 1, path: `${path}.intervalMs` }),
    timeoutMs: readDuration(probe, 'timeoutMs', 5_000, { min: 1, path: `${path}.timeoutMs` }),
    whileHealthy,
  };
}

/** Bounds of the default `writeTimeoutMs`, derived from `thresholdMs`; see docs/options.md. */
const MIN_DEFAULT_WRITE_TIMEOUT_MS = 1_000;
const MAX_DEFAULT_WRITE_TIMEOUT_MS = 10_000;

/** The default `writeTimeoutMs` of a monitor: its threshold, kept between 1 s and 10 s. */
export function defaultWriteTimeoutMs(thresholdMs: number): number {
  return Math.min(MAX_DEFAULT_WRITE_TIMEOUT_MS, Math.max(MIN_DEFAULT_WRITE_TIMEOUT_MS, thresholdMs));
}

/** Defaults of `degraded`; see docs/options.md for why. */
const DEFAULT_DEGRADED_RATIO = 0.5;
const DEFAULT_DEGRADED_MIN_WRITES = 10;
const MIN_DEFAULT_DEGRADED_WINDOW_MS = 1_000;

/** The default degraded window of a monitor: its threshold, at least 1 s. */
function defaultDegradedWindowMs(thresholdMs: number): number {
  return Math.max(MIN_DEFAULT_DEGRADED_WINDOW_MS, thresholdMs);
}

/** `degraded` as read, before the window is derived from the monitor's own threshold. */
type DegradedBase = { readonly ratio: number; readonly windowMs: number | undefined; readonly minWrites: number };

/** `undefined` in a base: derive it from the monitor's own threshold. */
type MonitorBase = Omit<ResolvedMonitorOptions, 'name' | 'writeTimeoutMs' | 'degraded'> & {
  readonly writeTimeoutMs: number | false | undefined;
  readonly degraded: DegradedBase | false;
};

function readDegraded(source: Record<string, unknown>, base: DegradedBase | false, path: string): DegradedBase | false {
  const value = source.degraded;
  if (value === undefined) return base;
  if (value === false) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(path, value, 'false (no partial-failure detection) or an object { ratio?, windowMs?, minWrites? }');
  }
  const degraded = value as Record<string, unknown>;
  rejectUnknownKeys(degraded, ['ratio', 'windowMs', 'minWrites'], `${path}.`);
  // A field left out comes from the top level's object, else from the defaults.
  const inherited = base === false ? null : base;
  const ratio = degraded.ratio ?? inherited?.ratio ?? DEFAULT_DEGRADED_RATIO;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    fail(`${path}.ratio`, ratio, 'a number greater than 0 and at most 1 (a share of the writes)');
  }
  const minWrites = degraded.minWrites ?? inherited?.minWrites ?? DEFAULT_DEGRADED_MIN_WRITES;
  if (typeof minWrites !== 'number' || !Number.isSafeInteger(minWrites) || minWrites < 1) {
    fail(`${path}.minWrites`, minWrites, 'a whole number of writes, at least 1');
  }
  const windowMs =
    degraded.windowMs === undefined
      ? inherited?.windowMs
      : readDuration(degraded, 'windowMs', 0, { min: 10, path: `${path}.windowMs` });
  return { ratio, minWrites, windowMs };
}

function readClassifier(
  source: Record<string, unknown>,
  fallback: AuditErrorClassifier | null,
  path: string,
): AuditErrorClassifier | null {
  const value = source.classify;
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    fail(path, value, "a function (error) => 'storage' | 'record' | 'ignore', such as postgresErrorClassifier");
  }
  return value as AuditErrorClassifier;
}

function readWriteTimeout(
  source: Record<string, unknown>,
  fallback: number | false | undefined,
  path: string,
): number | false | undefined {
  const value = source.writeTimeoutMs;
  if (value === undefined) return fallback;
  if (value === false) return false;
  return readDuration(source, 'writeTimeoutMs', 0, {
    min: 1,
    path,
    allowed: 'false (no limit) or a finite number of milliseconds from 1 to 2147483647',
  });
}

function resolveMonitor(source: Record<string, unknown>, base: MonitorBase, name: string, prefix = '') {
  const at = (key: string) => prefix + key;
  const thresholdMs = readDuration(source, 'thresholdMs', base.thresholdMs, { path: at('thresholdMs') });
  const writeTimeoutMs = readWriteTimeout(source, base.writeTimeoutMs, at('writeTimeoutMs'));
  const notifyRecovery = readBoolean(source, 'notifyRecovery', base.notifyRecovery, at('notifyRecovery'));
  return {
    name,
    serviceName: base.serviceName,
    enabled: readBoolean(source, 'enabled', base.enabled, at('enabled')),
    thresholdMs,
    cooldownMs: readDuration(source, 'cooldownMs', base.cooldownMs, { min: MIN_COOLDOWN_MS, path: at('cooldownMs') }),
    notifyRecovery,
    probe: resolveProbe(source, base.probe, prefix),
    writeTimeoutMs,
    capacity: resolveCapacity(source.capacity, base.capacity, at('capacity')),
    degraded: readDegraded(source, base.degraded, at('degraded')),
    recoveryHoldMs: readDuration(source, 'recoveryHoldMs', base.recoveryHoldMs, { path: at('recoveryHoldMs') }),
    classify: readClassifier(source, base.classify, at('classify')),
    spool: resolveSpool(source.spool, base.spool, at('spool')),
    links: readLinks(source, base.links, at('links')),
    gapRecord: resolveGapRecord(source.gapRecord, base.gapRecord, notifyRecovery, at('gapRecord')),
  };
}

function withDefaults(monitor: ReturnType<typeof resolveMonitor>): ResolvedMonitorOptions {
  const { writeTimeoutMs, degraded, thresholdMs } = monitor;
  return {
    ...monitor,
    writeTimeoutMs: writeTimeoutMs ?? defaultWriteTimeoutMs(thresholdMs),
    degraded:
      degraded === false ? null : { ...degraded, windowMs: degraded.windowMs ?? defaultDegradedWindowMs(thresholdMs) },
  };
}

/**
 * The settings given at the top level, over the built-in defaults: the
 * default monitor's, and every other monitor's base.
 */
export function resolveDefaultMonitor(
  options: Record<string, unknown>,
  serviceName: string,
): ReturnType<typeof resolveMonitor> {
  return resolveMonitor(
    options,
    {
      serviceName,
      enabled: true,
      thresholdMs: 30_000,
      cooldownMs: 300_000,
      notifyRecovery: true,
      probe: null,
      writeTimeoutMs: undefined,
      capacity: null,
      degraded: { ratio: DEFAULT_DEGRADED_RATIO, windowMs: undefined, minWrites: DEFAULT_DEGRADED_MIN_WRITES },
      recoveryHoldMs: 0,
      classify: null,
      spool: null,
      links: [],
      gapRecord: null,
    },
    DEFAULT_MONITOR_NAME,
  );
}

export function resolveMonitors(
  raw: unknown,
  defaults: MonitorBase & { name: string },
): readonly ResolvedMonitorOptions[] {
  if (raw === undefined) return [withDefaults(defaults)];
  if (!Array.isArray(raw) || raw.length === 0) fail('monitors', raw, 'a non-empty array of { name, ...settings }');
  const names = new Set<string>();
  return readItems(raw, (entry, index) => {
    const prefix = `monitors[${index}].`;
    const monitor = readObject(entry, `monitors[${index}]`);
    rejectUnknownKeys(monitor, ['name', ...MONITOR_SETTINGS], prefix);
    const { name } = monitor;
    if (typeof name !== 'string' || !MONITOR_NAME.test(name)) {
      fail(`${prefix}name`, name, MONITOR_NAME_ALLOWED);
    }
    if (names.has(name)) fail(`${prefix}name`, name, 'a name no other monitor has');
    names.add(name);
    return withDefaults(resolveMonitor(monitor, defaults, name, prefix));
  });
}

/** `probeWhileHealthy: true` on a monitor left without a probe would silently probe nothing. */
export function assertProbesForWhileHealthy(
  options: Record<string, unknown>,
  monitors: readonly ResolvedMonitorOptions[],
): void {
  const entries = Array.isArray(options.monitors) ? (options.monitors as Record<string, unknown>[]) : [undefined];
  monitors.forEach((monitor, index) => {
    const entry = entries[index];
    const own = entry && Object.hasOwn(entry, 'probeWhileHealthy') ? entry.probeWhileHealthy : undefined;
    if ((own ?? options.probeWhileHealthy) !== true || monitor.probe !== null) return;
    fail(own === undefined ? 'probeWhileHealthy' : `monitors[${index}].probeWhileHealthy`, true, NEEDS_PROBE);
  });
}

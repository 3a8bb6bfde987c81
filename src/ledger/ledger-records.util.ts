import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedAuditAlertOptions, ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertEvent, LedgerBrokenEvent } from '../events/audit-alert-event.interface.js';
import type { LedgerBootRecord, LedgerEventRecord } from './ledger-entry.interface.js';
import type { AuditLedgerVerification } from './ledger-verifier.js';

/** A value as JSON keeps it, with every `Date` an ISO string. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]));
  return value;
}

/** `event`, sent or held, as the ledger records it: its fields, dates as ISO strings. */
export function ledgerEventRecord(event: AuditAlertEvent, held: boolean): LedgerEventRecord {
  return { kind: 'event', event: plain(event) as LedgerEventRecord['event'], held };
}

/**
 * A monitor's settings as the boot record shows them: its thresholds and
 * periods (AU-5's "defined time period"), never a function or a key.
 */
function monitorSettings(monitor: ResolvedMonitorOptions): LedgerBootRecord['monitors'][number] {
  const { probe, capacity, spool, degraded } = monitor;
  return {
    name: monitor.name,
    thresholdMs: monitor.thresholdMs,
    cooldownMs: monitor.cooldownMs,
    enabled: monitor.enabled,
    notifyRecovery: monitor.notifyRecovery,
    writeTimeoutMs: monitor.writeTimeoutMs,
    recoveryHoldMs: monitor.recoveryHoldMs,
    degraded,
    probe: probe && { intervalMs: probe.intervalMs, timeoutMs: probe.timeoutMs, whileHealthy: probe.whileHealthy },
    capacity: capacity && {
      warnAt: capacity.warnAt,
      criticalAt: capacity.criticalAt,
      hysteresis: capacity.hysteresis,
      intervalMs: capacity.intervalMs,
    },
    spool: spool && { directory: spool.directory, maxBytes: spool.maxBytes, keyed: spool.hmacKey !== null },
    classify: monitor.classify !== null,
  };
}

/** A recipient as the boot record names it: never a secret (a channel's name is its type and origin). */
interface LedgerRecipient {
  readonly name: string;
  readonly channel?: string;
  readonly events: readonly string[];
  readonly monitors: ReadonlySet<string> | null;
}

/** The configuration at boot, secrets removed. */
export function ledgerBootRecord(
  version: string,
  options: ResolvedAuditAlertOptions,
  recipients: readonly LedgerRecipient[],
): LedgerBootRecord {
  return {
    kind: 'boot',
    version,
    monitors: options.monitors.map(monitorSettings),
    recipients: recipients.map((recipient) => ({
      recipient: recipient.name,
      channel: recipient.channel ?? null,
      events: recipient.events,
      monitors: recipient.monitors && [...recipient.monitors],
    })),
  };
}

/** The event that reports a break {@link verifyAuditLedger} found at start. */
export function ledgerBrokenEvent(
  options: ResolvedAuditAlertOptions,
  found: AuditLedgerVerification,
  detectedAt: Date,
): LedgerBrokenEvent {
  return {
    type: AuditAlertEvents.LedgerBroken,
    outageId: randomUUID(),
    monitor: options.defaultMonitor,
    serviceName: options.serviceName,
    directory: options.ledger?.directory ?? '',
    file: found.firstBadLine?.file ?? '',
    line: found.firstBadLine?.line ?? 0,
    reason: found.reason ?? '',
    detectedAt,
  };
}

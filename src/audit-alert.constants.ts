/**
 * Names of the events this module emits. Each is both the `type` field of the
 * event and the EventEmitter2 event name, so `@OnEvent(AuditAlertEvents.StorageUnreachable)`
 * receives exactly what hooks receive.
 */
export const AuditAlertEvents = {
  /** The audit storage has been failing for longer than `thresholdMs`. */
  StorageUnreachable: 'audit.storage.unreachable',
  /** A share of the writes (`degraded.ratio`) has been failing over a sliding window. */
  StorageDegraded: 'audit.storage.degraded',
  /** An outage that had been alerted on (unreachable or degraded) has ended. */
  StorageRecovered: 'audit.storage.recovered',
  /** Usage of the audit storage crossed a capacity level, stays above one, or fell back under it. */
  StorageCapacity: 'audit.storage.capacity',
  /**
   * Writes keep being rejected for their record (a constraint, a value, a
   * permission) while the storage answers: audit records are being lost.
   * Sent only with a `classify` option that says which errors these are.
   */
  RecordsRejected: 'audit.records.rejected',
  /** A test alert, sent on request by `AuditMonitorRegistry.sendTestAlert()`; no outage is open. */
  Test: 'audit.alert.test',
  /**
   * A recipient failed a scheduled test alert (`testAlert`): it would miss
   * the next real alert. Sent to the other recipients, never back to one that
   * failed in the same round.
   */
  TestFailed: 'audit.alert.test.failed',
  /** The alternate audit log (spool) cannot keep records: full, or not writable. */
  SpoolUnwritable: 'audit.spool.unwritable',
  /** The records kept in the spool have all been replayed into the audit storage. */
  SpoolReplayed: 'audit.spool.replayed',
  /**
   * The replay set spooled records aside in the spool's quarantine file instead
   * of writing them: damaged, behind a break of the hash chain, or refused by
   * the storage while it took the records after them; or found records missing.
   */
  SpoolQuarantined: 'audit.spool.quarantined',
  /**
   * The evidence ledger (`ledger` option) was found broken when the module
   * started: a line edited, removed, reordered or cut short. The break is
   * recorded in the ledger, which continues from its last line.
   */
  LedgerBroken: 'audit.ledger.broken',
  /**
   * Someone acknowledged an outage (`AuditMonitorRegistry.acknowledge()`, or
   * PagerDuty through the webhook): its repeats stop until it recovers.
   */
  Acknowledged: 'audit.alert.acknowledged',
} as const;

/** One of the values of {@link AuditAlertEvents}. */
export type AuditAlertEventType = (typeof AuditAlertEvents)[keyof typeof AuditAlertEvents];

/** Every event type, in the order hooks subscribe to them. */
export const AUDIT_ALERT_EVENT_TYPES: readonly AuditAlertEventType[] = Object.values(AuditAlertEvents);

/** Metadata key written by `@RequireAuditStorage()`; a string, so the ESM and CommonJS builds share it. */
export const AUDIT_STORAGE_REQUIREMENT = 'nestjs-audit-alert:require-audit-storage';

/** Metadata key written by `@AuditAlertHook()`. */
export const AUDIT_ALERT_HOOK_METADATA = 'nestjs-audit-alert:hook';

/** Metadata key written by `@TrackAuditWrite()` on the method it wraps: the monitor name, or `null` for the default. */
export const TRACK_AUDIT_WRITE_METADATA = 'nestjs-audit-alert:track-audit-write';

/**
 * Injection token of the clock the monitor reads and arms its timers with.
 * Override it (`overrideProvider(AUDIT_ALERT_CLOCK)`) to drive time in tests.
 * A registered symbol, so the ESM and CommonJS builds share it.
 */
export const AUDIT_ALERT_CLOCK = Symbol.for('nestjs-audit-alert:clock');

/** Token of the validated options, with every default filled in. */
export const AUDIT_ALERT_RESOLVED_OPTIONS = Symbol.for('nestjs-audit-alert:resolved-options');

/** Name of the monitor when none is given. */
export const DEFAULT_MONITOR_NAME = 'default';

/** Context of the Nest logger every message of this module is written with. */
export const AUDIT_ALERT_LOGGER_CONTEXT = 'AuditAlert';

/** Longest `lastError` text carried by an event or a status, in characters. */
export const MAX_ERROR_TEXT_LENGTH = 1024;

/*
 * Tokens the module's providers wire the rooms together with; internal. Registered
 * symbols, so that the ESM and CommonJS builds loaded in one process share them.
 */

/** The recipient sources the dispatcher sends to: the hook explorer and the channel registry. */
export const AUDIT_ALERT_RECIPIENTS = Symbol.for('nestjs-audit-alert:recipients');
/** The gate every event passes before it is sent (the silences). */
export const AUDIT_ALERT_GATE = Symbol.for('nestjs-audit-alert:gate');
/** The Redis link of the `cluster` option; `null` without one. */
export const AUDIT_ALERT_REDIS = Symbol.for('nestjs-audit-alert:redis');
/** The `state` file; `null` without one. */
export const AUDIT_ALERT_STATE_FILE = Symbol.for('nestjs-audit-alert:state-file');
/** Makes the alert sink of each monitor: local, or coordinated through Redis. */
export const AUDIT_ALERT_SINKS = Symbol.for('nestjs-audit-alert:sinks');
/** Reads what a monitor knows now, by name, once the monitors exist. */
export const AUDIT_MONITOR_STATUS = Symbol.for('nestjs-audit-alert:monitor-status');
/** The evidence ledger's writer (`AuditLedgerWriter`); `null` without the `ledger` option. */
export const AUDIT_ALERT_LEDGER = Symbol.for('nestjs-audit-alert:ledger');
/** Makes the gap recorder of each monitor with a `gapRecord` option. */
export const AUDIT_ALERT_GAP_RECORDERS = Symbol.for('nestjs-audit-alert:gap-recorders');

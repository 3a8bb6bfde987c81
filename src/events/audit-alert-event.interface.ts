import type { AuditAlertEvents } from '../audit-alert.constants.js';

/**
 * Sent when the audit storage has failed continuously (no success of a write
 * or a probe) for longer than `thresholdMs`, then again at most once per
 * `cooldownMs` while the outage lasts. An outage that was degraded first
 * escalates to this event under the same `outageId`.
 */
export interface StorageUnreachableEvent {
  readonly type: typeof AuditAlertEvents.StorageUnreachable;
  /** Stable for the whole outage: a deduplication key downstream. */
  readonly outageId: string;
  /** Name of the monitor, `'default'` unless named. */
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the outage's first failure. */
  readonly firstFailureAt: Date;
  /** Writes that failed since the last success (writes only: probes are counted in `probeFailures`). */
  readonly consecutiveFailures: number;
  /** Time since the outage's first failure, in milliseconds (monotonic clock). */
  readonly unreachableDurationMs: number;
  /**
   * Text of the last failed write (the probe's, when no write has failed in
   * this outage): credentials scrubbed, at most 1,024 characters.
   */
  readonly lastError: string;
  /** `1` for the first unreachable alert of the outage, `2` for the first repeat, and so on. */
  readonly occurrence: number;
  /** Failed probes that counted in this outage (a probe is not a write). */
  readonly probeFailures: number;
}

/**
 * Sent when, over the last `windowMs`, at least `degraded.minWrites` writes
 * were attempted and at least `degraded.ratio` of them failed, then again at
 * most once per `cooldownMs` while that lasts. It opens (or joins) an outage:
 * if the writes then fail without a success for `thresholdMs`, the outage
 * escalates to `audit.storage.unreachable` under the same `outageId`; it ends
 * with `audit.storage.recovered` once the ratio has stayed below half of
 * `degraded.ratio` for a window.
 */
export interface StorageDegradedEvent {
  readonly type: typeof AuditAlertEvents.StorageDegraded;
  /** Stable for the whole outage, through an escalation to unreachable. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** `failures / writes`, from 0 to 1. */
  readonly failureRatio: number;
  /** Writes recorded in the window. */
  readonly writes: number;
  /** Of those, the ones that failed. */
  readonly failures: number;
  /** Length of the window, in milliseconds. */
  readonly windowMs: number;
  /** Text of the last failed write: credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string;
  /** Wall-clock time of the outage's first failure. */
  readonly firstFailureAt: Date;
  /** `1` for the first degraded alert of the outage, `2` for the first repeat, and so on. */
  readonly occurrence: number;
}

/**
 * Sent when an outage that was alerted on ends (unless `notifyRecovery: false`):
 * after a success and `recoveryHoldMs` with no failure, or, for a degraded
 * outage, once the failure ratio has stayed low for a window.
 */
export interface StorageRecoveredEvent {
  readonly type: typeof AuditAlertEvents.StorageRecovered;
  /** The `outageId` of the unreachable alerts this recovery closes. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the outage's first failure. */
  readonly outageStartedAt: Date;
  /** Wall-clock time the storage was found working again: the first success after the last failure, or when the ratio fell low. */
  readonly recoveredAt: Date;
  /** From the first failure to the recovery, in whole milliseconds (monotonic clock). */
  readonly outageDurationMs: number;
  /**
   * Writes that failed during the outage: writes reported failed, and writes
   * found hung past `writeTimeoutMs` (even those that completed later).
   * Probes are not writes and are not counted. A failed write is not a lost
   * record: see {@link recordsSpooled} and {@link recordsLost}.
   *
   * With a `state` file it continues across restarts from the count the file
   * last kept, which is written at each change of state: writes that failed
   * after that in a process that was killed are not counted, so it is a lower
   * bound. Under `cluster`, the largest count one replica is known to have
   * recorded (this replica's, or what another reported to Redis when it
   * claimed an alert, whichever is higher): not a sum over the replicas.
   */
  readonly writesFailed: number;
  /**
   * Records the `spool` kept during the outage (to be replayed): the records
   * of failed or hung writes passed to `track(op, { record })`. `null` without
   * a spool. Under `cluster`, this replica's spool's, for its own part of the
   * outage; `null` for an outage it never had (another replica's).
   */
  readonly recordsSpooled: number | null;
  /**
   * Records of failed writes that the `spool` could not keep (full or
   * unwritable): audit records lost. `null` where the module cannot know:
   * without a spool (the application alone knows what became of the records
   * of its failed writes), and under `cluster` for an outage this replica
   * never had. Writes reported without a record (`recordFailure()`, or
   * `track()` without `{ record }`) count in neither figure.
   */
  readonly recordsLost: number | null;
  /**
   * Writes that failed during the outage.
   * @deprecated Use {@link writesFailed} (the same number). A failed write is
   * not a lost record: lost records are {@link recordsLost}.
   */
  readonly eventsAffected: number;
  /**
   * How many `audit.storage.unreachable` alerts the outage raised (the
   * `occurrence` of the last one), in this process or, resumed from the
   * `state` file, a process before it. Absent in a recovery a replica
   * announces for an outage another replica alerted on (`cluster`).
   */
  readonly unreachableAlerts?: number;
  /** The same for `audit.storage.degraded`. */
  readonly degradedAlerts?: number;
  /**
   * With a `spool`: records kept in the spool during the outage. Absent without a spool.
   * @deprecated Use {@link recordsSpooled} (the same number, `null` without a spool).
   */
  readonly eventsSpooled?: number;
  /**
   * With a `spool`: records the spool could not keep. Absent without a spool.
   * @deprecated Use {@link recordsLost} (the same number, `null` without a spool).
   */
  readonly eventsLost?: number;
}

/** How full the audit storage is, against the levels of its `capacity` option. */
export type AuditStorageCapacityLevel = 'normal' | 'warning' | 'critical';

/**
 * Sent when usage of the audit storage reaches `warnAt` (`level: 'warning'`)
 * or `criticalAt` (`'critical'`), again at most once per `cooldownMs` while it
 * stays there, and when it falls back under a level by the hysteresis margin
 * (`'warning'` from `'critical'`, or `'normal'`, which ends the episode).
 */
export interface StorageCapacityEvent {
  readonly type: typeof AuditAlertEvents.StorageCapacity;
  /**
   * Stable from the first crossing of `warnAt` until usage is back to
   * `'normal'`: the deduplication key of the episode, as an outage's id is for
   * the unreachable alerts (a PagerDuty incident opens and resolves on it).
   */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** The level usage is at now. */
  readonly level: AuditStorageCapacityLevel;
  /** The level of the previous event of the episode; `'normal'` for the first. */
  readonly previousLevel: AuditStorageCapacityLevel;
  /** Share of the capacity in use: `used / total`, above 1 past a quota. */
  readonly usedRatio: number;
  /** What the check answered, when it answered `{ used, total }`; else `null`. */
  readonly used: number | null;
  readonly total: number | null;
  /** The share of the level reached, or, for `'normal'`, `warnAt`. */
  readonly threshold: number;
  /** `1` for the first event of the episode, then one more per event. */
  readonly occurrence: number;
  /** Wall-clock time of the check that gave this reading. */
  readonly checkedAt: Date;
}

/**
 * Writes keep being rejected for their record while the storage answers: audit
 * records are being lost, though nothing is down. Sent when a failure that the
 * monitor's `classify` calls `'record'` comes `thresholdMs` or more after the
 * first of its run, then at most once per `cooldownMs` while they keep coming.
 * A run ends once no record has been rejected for `cooldownMs`.
 */
export interface RecordsRejectedEvent {
  readonly type: typeof AuditAlertEvents.RecordsRejected;
  /** Stable for the whole run of rejections: their deduplication key, as an outage's id is for its alerts. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the first rejected record of the run. */
  readonly firstRejectedAt: Date;
  /** Records rejected in the run so far: audit records lost. */
  readonly rejectedRecords: number;
  /** Time from the first rejection of the run to this one. */
  readonly rejectedDurationMs: number;
  /** Text of the last rejection: credentials scrubbed, one line, at most 1,024 characters. */
  readonly lastError: string;
  /** `1` for the first alert of the run, then one more per repeat. */
  readonly occurrence: number;
}

/** The events of an outage, which carry its `outageId`. */
export type AuditOutageEvent = StorageUnreachableEvent | StorageDegradedEvent | StorageRecoveredEvent;

/**
 * Sent on request by `AuditMonitorRegistry.sendTestAlert()`, to prove that
 * alerts reach their recipients. It never opens, changes or closes an outage.
 */
export interface AlertTestEvent {
  readonly type: typeof AuditAlertEvents.Test;
  /** Identifies this test: a key of its own downstream, never an outage's. */
  readonly testId: string;
  /** The monitor named in `sendTestAlert({ monitor })`, else the default monitor. */
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time the test was sent. */
  readonly sentAt: Date;
}

/**
 * Sent when a recipient failed a scheduled test alert (the `testAlert`
 * option): a dead Teams flow or a rotated PagerDuty key, found before the
 * outage that needed it. One per failing recipient per round, sent to the
 * other recipients (never back to those that failed in the same round).
 */
export interface AlertTestFailedEvent {
  readonly type: typeof AuditAlertEvents.TestFailed;
  /** The `testId` of the test alert the recipient failed. */
  readonly testId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** The hook's class name, or the channel's type and origin (never a secret): `Webhook channel (https://hooks.example.com)`. */
  readonly recipient: string;
  /** Why it was not delivered: scrubbed, at most 1,024 characters. */
  readonly reason: string;
  /** Attempts the recipient was given. */
  readonly attempts: number;
  /** Wall-clock time the test alert was sent. */
  readonly sentAt: Date;
}

/**
 * Sent when the spool (the alternate audit log) fails to keep a record: the
 * disk is full, `maxBytes` is reached, or the directory cannot be written.
 * Once per episode; the episode ends when a record is kept again.
 */
export interface SpoolUnwritableEvent {
  readonly type: typeof AuditAlertEvents.SpoolUnwritable;
  /** Stable for the episode: the deduplication key downstream. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Why the spool could not write: credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string;
  /** Records lost so far in this episode (`1` when the event is sent). */
  readonly recordsLost: number;
  /** Wall-clock time of the failed write. */
  readonly failedAt: Date;
}

/** Sent when every record of the spool has been replayed into the audit storage. */
export interface SpoolReplayedEvent {
  readonly type: typeof AuditAlertEvents.SpoolReplayed;
  /** Id of this drain of the spool. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Records replayed (and removed from the spool) since the spool was last empty. */
  readonly recordsReplayed: number;
  /** Wall-clock time the last record was replayed. */
  readonly replayedAt: Date;
}

/**
 * Sent when the replay sets spooled records aside in the spool's quarantine
 * file (`quarantine.jsonl`, owner-only) instead of writing them, or finds
 * records missing from the spool: none of them is deleted unreported. Each
 * event is the whole of its episode.
 */
export interface SpoolQuarantinedEvent {
  readonly type: typeof AuditAlertEvents.SpoolQuarantined;
  /** Id of this event: the deduplication key downstream. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Records (or damaged lines) set aside by this event, now in the quarantine file. */
  readonly recordsQuarantined: number;
  /** Records found missing from the spool (removed, or cut off): lost, and known only by their sequence numbers. */
  readonly recordsMissing: number;
  /** Why: the line and the break of the chain, or the storage's refusal; scrubbed, at most 1,024 characters. */
  readonly reason: string;
  /** The quarantine file, within the monitor's spool directory. */
  readonly file: string;
  /** Wall-clock time they were set aside. */
  readonly quarantinedAt: Date;
}

/**
 * Sent once at start when the evidence ledger's files fail verification (see
 * `verifyAuditLedger()`): a line edited, removed, reordered, or cut short by a
 * crash. The break is recorded in the ledger (`ledger-break`), which goes on
 * from its last line.
 */
export interface LedgerBrokenEvent {
  readonly type: typeof AuditAlertEvents.LedgerBroken;
  /** Id of this event: the deduplication key downstream. */
  readonly outageId: string;
  /** The default monitor: the ledger is the module's, not a monitor's. */
  readonly monitor: string;
  readonly serviceName: string;
  /** The ledger's directory (`ledger.directory`). */
  readonly directory: string;
  /** The file and 1-based line of the first break. */
  readonly file: string;
  readonly line: number;
  /** What is wrong with that line. */
  readonly reason: string;
  /** Wall-clock time the break was found. */
  readonly detectedAt: Date;
}

/**
 * Sent once when an outage is acknowledged, by `AuditMonitorRegistry.acknowledge()`
 * or from PagerDuty: from then on the outage raises no repeat until it
 * recovers (its recovery is still sent). Never held by a silence: it is a
 * response, not an alert.
 */
export interface AlertAcknowledgedEvent {
  readonly type: typeof AuditAlertEvents.Acknowledged;
  /** The outage acknowledged: the id its alerts carry. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Who acknowledged it, as given (`agent.summary` for PagerDuty). */
  readonly by: string;
  /** What they said; `null` when nothing. */
  readonly note: string | null;
  /** Wall-clock time of the acknowledgement. */
  readonly acknowledgedAt: Date;
  /** Wall-clock time of the outage's first failure. */
  readonly outageStartedAt: Date;
}

/** Every event this module sends, discriminated on `type`. More kinds may be added. */
export type AuditAlertEvent =
  | StorageUnreachableEvent
  | StorageDegradedEvent
  | StorageRecoveredEvent
  | StorageCapacityEvent
  | RecordsRejectedEvent
  | SpoolUnwritableEvent
  | SpoolReplayedEvent
  | SpoolQuarantinedEvent
  | LedgerBrokenEvent
  | AlertTestEvent
  | AlertTestFailedEvent
  | AlertAcknowledgedEvent;

import type { AuditAlertEvents } from '../audit-alert.constants.js';

/**
 * Sent when the audit storage has failed continuously for longer than
 * `thresholdMs`, then again at most once per `cooldownMs` while the outage lasts.
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
  /** Failures recorded in this outage so far. */
  readonly consecutiveFailures: number;
  /** Time since the first failure, in milliseconds (monotonic clock). */
  readonly unreachableDurationMs: number;
  /** Text of the last failure: credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string;
  /** `1` for the first alert of the outage, `2` for the first repeat, and so on. */
  readonly occurrence: number;
}

/** Sent when an outage that was alerted on ends (unless `notifyRecovery: false`). */
export interface StorageRecoveredEvent {
  readonly type: typeof AuditAlertEvents.StorageRecovered;
  /** The `outageId` of the unreachable alerts this recovery closes. */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the outage's first failure. */
  readonly outageStartedAt: Date;
  /** Wall-clock time of the success that ended the outage. */
  readonly recoveredAt: Date;
  /** From the first failure to the recovery, in milliseconds (monotonic clock). */
  readonly outageDurationMs: number;
  /** Failures recorded during the outage. */
  readonly eventsAffected: number;
}

/** Every event this module sends, discriminated on `type`. More kinds may be added. */
export type AuditAlertEvent = StorageUnreachableEvent | StorageRecoveredEvent;

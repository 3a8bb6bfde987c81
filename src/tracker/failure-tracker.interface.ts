import type { AuditErrorClassifier } from './error-class.util.js';
import type { DegradedDetection } from './failure-window.js';
import type {
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';

/** What the state machine needs to know; times are in milliseconds. */
export interface FailureTrackerConfig {
  readonly monitor: string;
  readonly serviceName: string;
  /** `false`: outages are tracked but never alerted on. */
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
  readonly notifyRecovery: boolean;
  /** `null`: no partial-failure detection. */
  readonly degraded: DegradedDetection | null;
  /** How long an alerted outage must see no failure after a success before its recovery is announced. */
  readonly recoveryHoldMs: number;
  /** Any non-null value: the monitor has a spool, whose counts its recoveries carry. */
  readonly spool?: object | null;
  /** Which failures are the storage's; absent or `null`: all of them. */
  readonly classify?: AuditErrorClassifier | null;
}

/** Alerts the tracker can return. */
export type TrackerEvent = StorageUnreachableEvent | StorageDegradedEvent | StorageRecoveredEvent;

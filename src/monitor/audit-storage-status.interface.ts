/**
 * `healthy`: no outage. `failing`: an outage is open, below the threshold or
 * with alerting disabled. `alerting`: the outage has been alerted on.
 */
export type AuditStorageState = 'healthy' | 'failing' | 'alerting';

/** What a monitor knows right now; outage fields are `null` while healthy. */
export interface AuditStorageStatus {
  /** Name of the monitor, `'default'` unless named. */
  readonly monitor: string;
  readonly state: AuditStorageState;
  readonly outageId: string | null;
  /** Wall-clock time of the outage's first failure. */
  readonly firstFailureAt: Date | null;
  /** Failures recorded in the outage, with no success between them. */
  readonly consecutiveFailures: number;
  /** Failures recorded in the outage; equal to `consecutiveFailures` since any success ends it. */
  readonly eventsAffected: number;
  /** Text of the last failure: credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string | null;
  /** Wall-clock time of the last alert sent for this outage. */
  readonly lastAlertAt: Date | null;
}

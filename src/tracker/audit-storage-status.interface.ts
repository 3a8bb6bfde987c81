/**
 * `healthy`: no outage. `failing`: an outage is open, below the threshold or
 * with alerting disabled. `degraded`: a share of the writes keeps failing and
 * has been alerted on. `alerting`: the storage is unreachable and has been
 * alerted on. `recovering`: an alerted outage has seen a success and waits
 * `recoveryHoldMs` without a failure before announcing its recovery.
 */
export type AuditStorageState = 'healthy' | 'failing' | 'degraded' | 'alerting' | 'recovering';

/** What a monitor knows right now; outage fields are `null` (or `0`) while healthy. */
export interface AuditStorageStatus {
  /** Name of the monitor, `'default'` unless named. */
  readonly monitor: string;
  readonly state: AuditStorageState;
  readonly outageId: string | null;
  /** Wall-clock time of the outage's first failure. */
  readonly firstFailureAt: Date | null;
  /** Writes that failed since the last success. */
  readonly consecutiveFailures: number;
  /** Writes that failed during the outage. */
  readonly eventsAffected: number;
  /** Text of the last failed write (or probe, when no write has failed): credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string | null;
  /** Wall-clock time of the last alert sent for this outage. */
  readonly lastAlertAt: Date | null;
  /** Failed probes that counted in the outage. */
  readonly probeFailures: number;
  /** Text of the last failed probe of the outage. */
  readonly lastProbeError: string | null;
  /** Share of the writes that failed over the degraded-detection window, while it counts (from a failure on). */
  readonly failureRatio: number | null;
  /** Writes passed to `track()` that have not settled yet (`0` with `writeTimeoutMs: false`). */
  readonly pendingWrites: number;
  /**
   * Records rejected in the current run of rejections (failures `classify`
   * calls `'record'`): audit records lost while the storage answers. `0` once
   * no record has been rejected for `cooldownMs`. Independent of `state`.
   */
  readonly rejectedRecords: number;
  /** Text of the last rejected record's error in that run, else `null`. */
  readonly lastRejectedError: string | null;
}

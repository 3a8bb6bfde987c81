import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';

/** Ends a trial: its place is free, and the next trial is due a `Retry-After` from now. */
export type EndAuditStorageTrial = () => void;

/**
 * The half-open state of the routes that refuse requests for one monitor. When
 * those routes are the only writers, no write can end the outage while they
 * refuse; so, once `Retry-After` has passed since they began refusing (or
 * since the last trial ended), one request at a time is let through as a trial,
 * and its write, tracked as usual, tells the monitor whether the storage is back.
 * @internal
 */
export class AuditStorageTrialGate {
  /** The outage the routes refuse for; a new one waits a whole `Retry-After` again. */
  private outageId: string | null = null;
  /** Monotonic time the routes began refusing for this outage, or the last trial ended. */
  private since = 0;
  /** The trial in flight and the monotonic time it stops holding its place, else `null`. */
  private trial: { readonly until: number } | null = null;

  constructor(private readonly clock: AuditAlertClock) {}

  /**
   * Asked for a request the routes refuse during `outageId`.
   * @returns The function that ends the trial this request is let through as, or `null`: refuse it.
   */
  admit(outageId: string | null, retryAfterMs: number, trialTimeoutMs: number): EndAuditStorageTrial | null {
    const now = this.clock.monotonicNow();
    if (outageId !== this.outageId) {
      this.outageId = outageId;
      this.since = now;
      this.trial = null;
    } else if (this.trial !== null) {
      if (now < this.trial.until) return null;
      // Its request hangs, or never reached the interceptor (another guard refused it): it ends here.
      this.since = this.trial.until;
      this.trial = null;
    }
    if (now - this.since < retryAfterMs) return null;
    const trial = { until: now + trialTimeoutMs };
    this.trial = trial;
    return () => {
      // A trial that timed out, or belongs to an outage that has ended, no longer holds anything.
      if (this.trial !== trial) return;
      this.trial = null;
      this.since = this.clock.monotonicNow();
    };
  }
}

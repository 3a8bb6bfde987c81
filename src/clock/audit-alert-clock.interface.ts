/** Opaque handle of a timer armed by an {@link AuditAlertClock}. */
export type AuditAlertTimer = unknown;

/**
 * The time source of the monitor. The default reads `performance.now()` and
 * `Date.now()` and arms unref'ed Node timers; tests provide their own under
 * the `AUDIT_ALERT_CLOCK` token to drive time without sleeping.
 */
export interface AuditAlertClock {
  /** Monotonic milliseconds, for durations; unaffected by wall-clock jumps. */
  monotonicNow(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps. */
  wallNow(): number;
  /** Calls `callback` once after `delayMs`; must not keep the process alive. */
  setTimer(callback: () => void, delayMs: number): AuditAlertTimer;
  /** Disarms a timer returned by `setTimer`; a fired or cleared one is ignored. */
  clearTimer(timer: AuditAlertTimer): void;
}

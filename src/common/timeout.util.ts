import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';

/** What {@link withTimeout} needs of a clock. */
type TimerSource = Pick<AuditAlertClock, 'setTimer' | 'clearTimer'>;

/**
 * Settles as `work` does, or rejects with `timedOut()` once `timeoutMs` has
 * passed on `timers`, whichever comes first; the timer is cleared either way.
 * `work` given as a function is called inside, so that one throwing at once
 * rejects instead. The work itself is not stopped: what it holds is the
 * caller's to bound.
 */
export function withTimeout<T>(
  work: Promise<T> | (() => T | Promise<T>),
  timeoutMs: number,
  timers: TimerSource,
  timedOut: () => Error,
): Promise<T> {
  let timer: unknown;
  const expired = new Promise<never>((_, reject) => {
    timer = timers.setTimer(() => reject(timedOut()), timeoutMs);
  });
  const running = typeof work === 'function' ? (async () => work())() : work;
  return Promise.race([running, expired]).finally(() => timers.clearTimer(timer));
}

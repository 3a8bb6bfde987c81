import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';

/**
 * Renewals per lease. Each may take up to `cluster.timeoutMs`, which is at
 * most a third of the lease: one renewal lost to a slow Redis leaves the next
 * one time to land before the lease lapses.
 */
const RENEWALS_PER_LEASE = 3;

/**
 * Keeps the lease of an alert claim alive while its delivery runs, however
 * long the channels retry: calls `renew` every `leaseMs / 3` on the injected
 * clock (whose timers never keep the process alive), off the monitor's queue.
 *
 * The cadence is fixed from the claim, not from each answer, so a renewal
 * that Redis answers late or not at all (`renew` rejects) costs no more than
 * its own tick. Renewing stops for good when `renew` resolves `false` (the
 * claim is no longer this replica's: another one took it over after the
 * lease lapsed, or it is confirmed), or when the returned function is called
 * (the delivery settled, or the application shuts down).
 * @returns Stops the renewals; calling it again does nothing.
 */
export function keepLeaseAlive(clock: AuditAlertClock, leaseMs: number, renew: () => Promise<boolean>): () => void {
  const everyMs = leaseMs / RENEWALS_PER_LEASE;
  let timer: AuditAlertTimer | null = null;
  const stop = (): void => {
    if (timer !== null) clock.clearTimer(timer);
    timer = null;
  };
  const tick = (): void => {
    timer = clock.setTimer(tick, everyMs);
    renew().then(
      (held) => {
        if (!held) stop();
      },
      // Tried again at the next tick; the caller has logged why Redis did not answer.
      () => undefined,
    );
  };
  timer = clock.setTimer(tick, everyMs);
  return stop;
}

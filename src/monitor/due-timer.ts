import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';

/**
 * One timer for whatever time alone makes due next (a threshold, a hold, the
 * end of a degraded period): armed for the earliest time asked; its owner
 * arms it again, for what is due then, when it fires.
 */
export class DueTimer {
  private timer: AuditAlertTimer | null = null;
  /** Monotonic time the armed timer fires at. */
  private at = 0;

  constructor(
    private readonly clock: AuditAlertClock,
    private readonly fire: () => void,
  ) {}

  /** Fires in `dueIn` ms, unless already armed for earlier; `null` disarms it. */
  arm(dueIn: number | null): void {
    if (dueIn === null) return this.disarm();
    const at = this.clock.monotonicNow() + dueIn;
    // A timer armed for earlier stays: when it fires, it re-arms for what is due then.
    if (this.timer !== null && this.at <= at) return;
    this.disarm();
    this.at = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.fire();
    }, dueIn);
  }

  disarm(): void {
    if (this.timer === null) return;
    this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}

import type { AuditAlertClock, AuditAlertTimer } from '../../src/index.js';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock driven by hand: `advance(ms)` moves both clocks and fires, in order,
 * every timer that falls due, so no test sleeps.
 */
export class ManualClock implements AuditAlertClock {
  private mono = 1_000;
  private wall = Date.UTC(2026, 0, 1, 12, 0, 0);
  private nextId = 1;
  private timers: PendingTimer[] = [];

  monotonicNow(): number {
    return this.mono;
  }

  wallNow(): number {
    return this.wall;
  }

  setTimer(callback: () => void, delayMs: number): AuditAlertTimer {
    const timer = { id: this.nextId++, at: this.mono + delayMs, callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimer(timer: AuditAlertTimer): void {
    this.timers = this.timers.filter((t) => t.id !== timer);
  }

  /** Timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order of their time. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.wall += due.at - this.mono;
      this.mono = due.at;
      due.callback();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Moves time without firing timers, as a blocked event loop would see it. */
  stall(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }

  /** Moves only the wall clock, as an NTP step would. */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}

/** Lets deferred work (setImmediate, promise chains) run to completion. */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

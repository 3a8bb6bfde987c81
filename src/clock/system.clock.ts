import { performance } from 'node:perf_hooks';
import type { AuditAlertClock, AuditAlertTimer } from './audit-alert-clock.interface.js';

/** The real clock: monotonic durations, wall-clock timestamps, unref'ed timers. */
export const systemClock: AuditAlertClock = {
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(callback: () => void, delayMs: number): AuditAlertTimer {
    return setTimeout(callback, delayMs).unref();
  },
  clearTimer(timer: AuditAlertTimer): void {
    clearTimeout(timer as NodeJS.Timeout);
  },
};

import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Observable, Subject } from 'rxjs';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditStorageStatus } from './audit-storage-status.interface.js';
import { errorText } from './error-text.util.js';
import { FailureTracker } from './failure-tracker.js';

/**
 * Watches one audit storage: the application reports each write's outcome
 * (`track()`, or `recordFailure()`/`recordSuccess()`), and the monitor sends
 * `audit.storage.unreachable` when failures last past the threshold and
 * `audit.storage.recovered` when they end. Injectable anywhere.
 */
@Injectable()
export class AuditStorageMonitor implements OnModuleDestroy {
  /** Emits the status on every change of state (not on every failure). */
  readonly status$: Observable<AuditStorageStatus>;

  private readonly changes = new Subject<AuditStorageStatus>();
  private readonly tracker: FailureTracker;
  private thresholdTimer: AuditAlertTimer | null = null;
  private destroyed = false;

  /** @internal Built by the module; inject it rather than constructing it. */
  constructor(
    name: string,
    options: ResolvedAuditAlertOptions,
    private readonly clock: AuditAlertClock,
    private readonly dispatcher: AuditAlertDispatcher,
  ) {
    this.tracker = new FailureTracker({ monitor: name, ...options });
    this.status$ = this.changes.asObservable();
  }

  /** Records a failed write. Never throws, whatever `error` is. */
  recordFailure(error: unknown): void {
    const before = this.tracker.state;
    const alert = this.tracker.recordFailure(errorText(error), this.clock.monotonicNow(), this.clock.wallNow());
    if (before === 'healthy') this.armThresholdTimer();
    this.settle(before, alert);
  }

  /** Records a successful write; ends an open outage. */
  recordSuccess(): void {
    if (this.tracker.state === 'healthy') return;
    const before = this.tracker.state;
    const recovery = this.tracker.recordSuccess(this.clock.monotonicNow(), this.clock.wallNow());
    this.disarmThresholdTimer();
    this.settle(before, recovery);
  }

  /**
   * Runs `op` (or awaits it, when given a promise), records its outcome, and
   * resolves or rejects exactly as it did.
   */
  track<T>(op: Promise<T> | (() => T | Promise<T>)): Promise<T> {
    let pending: T | Promise<T>;
    try {
      pending = typeof op === 'function' ? op() : op;
    } catch (error) {
      this.recordFailure(error);
      return Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (value) => {
        this.recordSuccess();
        return value;
      },
      (error: unknown) => {
        this.recordFailure(error);
        throw error;
      },
    );
  }

  /** What the monitor knows right now. */
  getStatus(): AuditStorageStatus {
    return this.tracker.status();
  }

  /** @internal Stops the threshold timer; called by Nest at shutdown. */
  onModuleDestroy(): void {
    this.destroyed = true;
    this.disarmThresholdTimer();
    this.changes.complete();
  }

  private settle(before: string, event: AuditAlertEvent | null): void {
    if (event) this.dispatcher.dispatch(event);
    if (this.tracker.state !== before) this.changes.next(this.tracker.status());
  }

  private armThresholdTimer(): void {
    const dueIn = this.tracker.thresholdDueIn(this.clock.monotonicNow());
    if (dueIn === null || this.destroyed) return;
    this.thresholdTimer = this.clock.setTimer(() => this.onThresholdTimer(), dueIn);
  }

  private onThresholdTimer(): void {
    this.thresholdTimer = null;
    const before = this.tracker.state;
    const alert = this.tracker.checkThreshold(this.clock.monotonicNow(), this.clock.wallNow());
    this.settle(before, alert);
    // A clock that fires early (or is driven by hand) gets a second chance.
    if (!alert) this.armThresholdTimer();
  }

  private disarmThresholdTimer(): void {
    if (this.thresholdTimer === null) return;
    this.clock.clearTimer(this.thresholdTimer);
    this.thresholdTimer = null;
  }
}

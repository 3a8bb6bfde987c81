import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { StorageRecoveredEvent, StorageUnreachableEvent } from '../events/audit-alert-event.interface.js';
import type { AuditStorageState, AuditStorageStatus } from './audit-storage-status.interface.js';
import { errorText } from './error-text.util.js';

/** What the state machine needs to know; times are in milliseconds. */
export interface FailureTrackerConfig {
  readonly monitor: string;
  readonly serviceName: string;
  /** `false`: outages are tracked but never reach `alerting`. */
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
  readonly notifyRecovery: boolean;
}

/**
 * The outage state machine, free of Nest and of timers: it reads the injected
 * clock, and every method returns the event to send, if any. The wall clock is
 * read and the error text derived only when an outage opens or an event or
 * status is built, so a failure during an outage costs a few field writes.
 *
 * healthy → failing (first failure) → alerting (threshold passed) → healthy (success).
 * The owner arms a timer for {@link FailureTracker.thresholdDueIn} when an outage
 * opens and calls {@link FailureTracker.checkThreshold} when it fires, so the
 * first alert does not wait for another failure.
 */
export class FailureTracker {
  /** Read on every call of the hot path, hence a field and not a getter. */
  state: AuditStorageState = 'healthy';

  private outageId: string | null = null;
  private firstFailureMono = 0;
  private firstFailureWall = 0;
  private failures = 0;
  /** The last failure as recorded; its text is derived on demand and kept. */
  private lastErrorValue: unknown = null;
  private derivedText: { readonly of: unknown; readonly text: string } | null = null;
  private lastAlertMono = 0;
  private lastAlertWall: number | null = null;
  private occurrence = 0;

  constructor(
    private readonly config: FailureTrackerConfig,
    private readonly clock: Pick<AuditAlertClock, 'monotonicNow' | 'wallNow'>,
    private readonly newOutageId: () => string = randomUUID,
  ) {}

  /**
   * Records failed writes; returns the unreachable alert they trigger, if any.
   * @param count Writes that failed: `0` for a write already counted (one found hung that failed later).
   * @param beganAt Monotonic time the failure began, when earlier than now (a write found hung began when it started).
   */
  recordFailure(error: unknown, count = 1, beganAt?: number): StorageUnreachableEvent | null {
    const mono = this.clock.monotonicNow();
    const began = beganAt === undefined ? mono : Math.min(beganAt, mono);
    this.lastErrorValue = error;
    if (this.state === 'healthy') {
      this.state = 'failing';
      this.outageId = this.newOutageId();
      this.firstFailureMono = began;
      this.firstFailureWall = this.clock.wallNow() - (mono - began);
      this.failures = Math.max(count, 1);
      this.occurrence = 0;
      this.lastAlertWall = null;
    } else {
      this.failures += count;
      // Not alerted yet, so nothing has been said about the start: an older stuck write moves it back.
      if (this.state === 'failing' && began < this.firstFailureMono) {
        this.firstFailureWall -= this.firstFailureMono - began;
        this.firstFailureMono = began;
      }
    }
    if (this.state === 'failing') return this.checkThreshold();
    return mono - this.lastAlertMono >= this.config.cooldownMs ? this.alert(mono) : null;
  }

  /**
   * Sends the first alert once the threshold has passed with no success.
   * Safe to call at any time: it does nothing unless that alert is due.
   */
  checkThreshold(): StorageUnreachableEvent | null {
    if (this.state !== 'failing' || !this.config.enabled) return null;
    const mono = this.clock.monotonicNow();
    return mono - this.firstFailureMono >= this.config.thresholdMs ? this.alert(mono) : null;
  }

  /** Milliseconds until the first alert is due, or `null` when none will be. */
  thresholdDueIn(): number | null {
    if (this.state !== 'failing' || !this.config.enabled) return null;
    return Math.max(0, this.firstFailureMono + this.config.thresholdMs - this.clock.monotonicNow());
  }

  /** Records a success; ends any outage and returns the recovery to announce, if any. */
  recordSuccess(): StorageRecoveredEvent | null {
    if (this.state === 'healthy') return null;
    const mono = this.clock.monotonicNow();
    const alerted = this.state === 'alerting';
    const event: StorageRecoveredEvent | null =
      alerted && this.config.notifyRecovery
        ? {
            type: AuditAlertEvents.StorageRecovered,
            outageId: this.outageId as string,
            monitor: this.config.monitor,
            serviceName: this.config.serviceName,
            outageStartedAt: new Date(this.firstFailureWall),
            recoveredAt: new Date(this.clock.wallNow()),
            outageDurationMs: mono - this.firstFailureMono,
            eventsAffected: this.failures,
          }
        : null;
    this.state = 'healthy';
    this.outageId = null;
    this.failures = 0;
    this.lastErrorValue = null;
    this.derivedText = null;
    this.lastAlertWall = null;
    this.occurrence = 0;
    return event;
  }

  /**
   * A snapshot of the current state, with `null` outage fields while healthy.
   * Its `lastError` is derived when first read, so a status taken on the write
   * path (for `status$`) costs no error text there.
   */
  status(): AuditStorageStatus {
    const open = this.state !== 'healthy';
    const status = {
      monitor: this.config.monitor,
      state: this.state,
      outageId: this.outageId,
      firstFailureAt: open ? new Date(this.firstFailureWall) : null,
      consecutiveFailures: this.failures,
      eventsAffected: this.failures,
      lastError: null as string | null,
      lastAlertAt: this.lastAlertWall === null ? null : new Date(this.lastAlertWall),
    };
    if (open) {
      const recorded = this.lastErrorValue;
      Object.defineProperty(status, 'lastError', {
        enumerable: true,
        configurable: true,
        get: (): string => {
          const text = this.textOf(recorded);
          Object.defineProperty(status, 'lastError', { value: text, enumerable: true });
          return text;
        },
      });
    }
    return status;
  }

  /** The text of `error`, derived once however many statuses and alerts carry it. */
  private textOf(error: unknown): string {
    if (this.derivedText === null || this.derivedText.of !== error)
      this.derivedText = { of: error, text: errorText(error) };
    return this.derivedText.text;
  }

  private alert(mono: number): StorageUnreachableEvent {
    this.state = 'alerting';
    this.lastAlertMono = mono;
    this.lastAlertWall = this.clock.wallNow();
    this.occurrence += 1;
    return {
      type: AuditAlertEvents.StorageUnreachable,
      outageId: this.outageId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      firstFailureAt: new Date(this.firstFailureWall),
      consecutiveFailures: this.failures,
      unreachableDurationMs: mono - this.firstFailureMono,
      lastError: this.textOf(this.lastErrorValue),
      occurrence: this.occurrence,
    };
  }
}

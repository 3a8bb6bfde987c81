import { randomUUID } from 'node:crypto';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type {
  RecordsRejectedEvent,
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import type { AuditStorageState, AuditStorageStatus } from './audit-storage-status.interface.js';
import { type AuditErrorClass, classifyError } from './error-class.util.js';
import type { FailureTrackerConfig, TrackerEvent } from './failure-tracker.interface.js';
import { EndedOutages } from './ended-outages.js';
import { FailureWindow } from './failure-window.js';
import { openOutageTtlMs } from './open-outage-ttl.util.js';
import { Outage } from './outage.js';
import type { OutageAcknowledgeResult } from './outage-acknowledgement.js';
import { degradedEvent, outageCounts, recoveredEvent, unreachableEvent } from './outage-events.js';
import { type OutageSnapshot, restoreOutage, snapshotOutage } from './outage-snapshot.js';
import { type ProbeMark, ProbeWeighing } from './probe-weighing.js';
import { RejectedRun } from './rejected-run.js';
import { storageStatus } from './storage-status.util.js';

/**
 * The outage state machine of docs/state-machine.md, free of Nest and of
 * timers: it reads the injected clock, every method returns the event to send,
 * if any, and the outage it keeps is plain fields ({@link Outage}), so it can
 * be snapshotted. Its parts: the {@link FailureWindow} of degraded detection,
 * the {@link RejectedRun} of refused records (which never touch the outage),
 * and the {@link ProbeWeighing} by which writes outrank probes.
 *
 * No failure is dated before a success the tracker has seen in an outage, nor
 * before the end of the last outage: a write that started before a recovery
 * and is found hung after it opens no outage already past its threshold.
 * The owner arms one timer for {@link FailureTracker.dueIn} and calls
 * {@link FailureTracker.checkDue} when it fires.
 */
export class FailureTracker {
  /** Read on every call of the hot path, hence a field and not a getter. */
  state: AuditStorageState = 'healthy';
  /** Healthy, no failure in the window, no probe running: a write success has nothing to update. */
  quiet = true;
  /** The outages that ended here, announced or not. */
  readonly ended = new EndedOutages();

  /** The open outage; `null` while healthy. */
  private outage: Outage | null = null;
  /** `null` without degraded detection. */
  private readonly window: FailureWindow | null;
  private readonly rejected: RejectedRun;
  private readonly probes = new ProbeWeighing();
  /**
   * No failure begins before this (monotonic): the last success seen while an
   * outage was open (of a write, or of a probe that counted), or the end of
   * the last outage. Successes while healthy are not timed (the hot path reads
   * no clock); the hung-write sweep dates hung writes after them itself.
   */
  private failureFloorMono = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: FailureTrackerConfig,
    private readonly clock: Pick<AuditAlertClock, 'monotonicNow' | 'wallNow'>,
    private readonly newOutageId: () => string = randomUUID,
  ) {
    this.window = config.degraded === null ? null : new FailureWindow(config.degraded, clock);
    this.rejected = new RejectedRun(config, clock, newOutageId);
  }

  /**
   * Records failed writes; returns the alert they trigger, if any.
   * @param count Writes that failed: `0` for a write already counted (one found hung that failed later).
   * @param beganAt Monotonic time the failure began, when earlier than now (a write found hung began when it
   * started); never taken as earlier than the last success seen in an outage or the end of the last outage.
   */
  recordFailure(error: unknown, count = 1, beganAt?: number): TrackerEvent | null {
    const mono = this.clock.monotonicNow();
    this.probes.writeFailures += count;
    if (count > 0) this.window?.count(mono, count, count);
    const began = beganAt === undefined ? mono : Math.max(Math.min(beganAt, mono), this.failureFloorMono);
    const outage = this.fail(mono, began);
    outage.hasWriteError = true;
    outage.lastErrorValue = error;
    outage.failures += count;
    outage.consecutive += count;
    return this.afterFailure(outage, mono, count > 0);
  }

  /** What a failed write means, by the monitor's `classify` (`'storage'` without one, or when it fails). */
  classify(error: unknown): AuditErrorClass {
    return classifyError(this.config.classify ?? null, error);
  }

  /**
   * Records a write the storage answered but refused for its record: a lost
   * record, counted apart from the outage. Returns `audit.records.rejected`
   * when the run has lasted `thresholdMs`, then once per `cooldownMs`.
   */
  recordRejected(error: unknown): RecordsRejectedEvent | null {
    return this.rejected.record(error);
  }

  /**
   * Counts the record of a failed write that the spool kept (`true`) or could
   * not keep (`false`), in the open outage. One settled once its outage has
   * ended is counted in none.
   */
  recordSpooled(kept: boolean): void {
    const outage = this.outage;
    if (outage === null) return;
    if (kept) outage.recordsSpooled += 1;
    else outage.recordsLost += 1;
  }

  /** Records a successful write; returns the recovery it completes, if any. */
  recordSuccess(): TrackerEvent | null {
    if (this.quiet) return null;
    this.probes.writeSuccesses += 1;
    const mono = this.clock.monotonicNow();
    this.window?.count(mono, 1, 0);
    return this.succeed(mono);
  }

  /** What a probe starting now must remember, to weigh its outcome against the writes seen meanwhile. */
  probeMark(): ProbeMark {
    // While a probe runs, successes are counted even when healthy: its outcome is weighed against them.
    this.quiet = false;
    return this.probes.mark();
  }

  /**
   * Records a failed probe: it opens or prolongs an outage only when no write
   * has succeeded since the probe started. It never counts as a failed write.
   */
  recordProbeFailure(error: unknown, mark: ProbeMark): TrackerEvent | null {
    const counts = this.probes.failureCounts(mark);
    this.updateQuiet();
    if (!counts) return null;
    const mono = this.clock.monotonicNow();
    const outage = this.fail(mono, mono);
    outage.hasProbeError = true;
    outage.lastProbeErrorValue = error;
    outage.probeFailures += 1;
    return this.afterFailure(outage, mono, false);
  }

  /**
   * Records a passing probe: it counts as a success only when no write has
   * failed since the previous probe check ended (since this tracker was made,
   * for the first) nor while it ran. Writes that keep failing therefore keep
   * their run and reach `thresholdMs`, whatever a probe says; when no write
   * comes, the probe ends the outage. It never counts as a write.
   */
  recordProbeSuccess(mark: ProbeMark): TrackerEvent | null {
    const counts = this.probes.successCounts(mark);
    this.updateQuiet();
    if (this.state === 'healthy' || !counts) return null;
    return this.succeed(this.clock.monotonicNow());
  }

  /** The id of the open outage; `null` while healthy. */
  get outageId(): string | null {
    return this.outage?.id ?? null;
  }

  /** Whether `outageId` is the open outage, or one of the last outages that ended here. */
  knows(outageId: string): boolean {
    return this.outage?.id === outageId || this.ended.has(outageId);
  }

  /**
   * Acknowledges the open outage `outageId` for good (until it ends): from
   * now on it raises no repeat, neither of the unreachable alert nor of the
   * degraded one. An escalation from degraded to unreachable is still raised,
   * once: it says more than what was acknowledged. Its recovery is announced.
   * @param by Who, `note` what they said; both checked by the caller.
   */
  acknowledge(outageId: string, by: string, note: string | null): OutageAcknowledgeResult {
    const outage = this.outage;
    if (outage === null || outage.id !== outageId) return { result: 'unknown' };
    return outage.acknowledge(by, note, this.clock.wallNow());
  }

  /**
   * Sends what time alone makes due: the first unreachable alert once the
   * threshold has passed, the recovery once a hold or a degraded period has
   * run out. Safe to call at any time.
   */
  checkDue(): TrackerEvent | null {
    const outage = this.outage;
    if (outage === null) return null;
    const mono = this.clock.monotonicNow();
    if (this.state === 'recovering') {
      return mono - outage.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(outage, mono) : null;
    }
    const window = this.window;
    if (this.state === 'degraded' && window !== null && window.clearSinceMono !== null) {
      window.weigh(mono);
      if (window.clearedBy(mono)) return this.endDegraded(outage, window, mono);
    }
    return this.checkThreshold(outage, mono);
  }

  /** Milliseconds until {@link checkDue} may have something to send, or `null` when only a write or probe can change that. */
  dueIn(): number | null {
    const outage = this.outage;
    if (outage === null) return null;
    let at = this.thresholdAt(outage) ?? Number.POSITIVE_INFINITY;
    if (this.state === 'recovering') at = Math.min(at, outage.lastFailureMono + this.config.recoveryHoldMs);
    const clearAt = this.state === 'degraded' ? this.window?.clearAt : null;
    if (clearAt != null) at = Math.min(at, clearAt);
    return at === Number.POSITIVE_INFINITY ? null : Math.max(0, at - this.clock.monotonicNow());
  }

  /**
   * A snapshot of the current state, with `null` outage fields while healthy.
   * Its error texts are derived when first read, so a status taken on the write
   * path (for `status$`) costs no error text there.
   * @param pendingWrites Writes in flight, which the owner counts.
   */
  status(pendingWrites = 0): AuditStorageStatus {
    const rejected = this.rejected.openAt(this.clock.monotonicNow()) ? this.rejected : null;
    return storageStatus(
      this.config.monitor,
      this.state,
      this.outage,
      this.window?.ratio ?? null,
      rejected,
      pendingWrites,
    );
  }

  /** The open outage as the next process needs it; `null` while healthy. */
  snapshot(): OutageSnapshot | null {
    if (this.outage === null || this.state === 'healthy') return null;
    return snapshotOutage(this.outage, this.state, this.clock);
  }

  /**
   * Resumes an outage an earlier process left open, as if this process had
   * seen it: a failure continues it (same `outageId`, repeats a cooldown after
   * the last alert, a threshold counted from the recorded start, which may
   * have passed while no process ran), a success ends it and announces its
   * recovery if it was alerted on.
   * @returns `false`, changing nothing, when an outage is open already, or
   * `saved` was never alerted on and has seen no failure for longer than
   * {@link openOutageTtlMs}.
   */
  restore(saved: OutageSnapshot): boolean {
    if (this.state !== 'healthy') return false;
    const alerted = saved.unreachableOccurrence > 0 || saved.degradedOccurrence > 0;
    if (!alerted && this.clock.wallNow() - saved.lastFailureAt > openOutageTtlMs(this.config)) return false;
    this.state = saved.state === 'degraded' && this.window === null ? 'alerting' : saved.state;
    this.quiet = false;
    this.outage = restoreOutage(saved, this.clock);
    // The writes of the window died with the process: a degraded outage counts them again from now.
    if (this.state === 'degraded') this.window?.open(this.clock.monotonicNow());
    return true;
  }

  /** Opens the outage and the streak as a failure that began at `began` requires; returns the outage. */
  private fail(mono: number, began: number): Outage {
    let outage = this.outage;
    if (outage === null) {
      this.state = 'failing';
      this.quiet = false;
      outage = new Outage(this.newOutageId(), began, this.clock.wallNow() - (mono - began));
      this.outage = outage;
    } else if (this.state === 'failing') {
      // Not alerted yet, so nothing has been said about the start: an older stuck write moves it back.
      outage.startNoLaterThan(began);
    } else {
      // Alerted already: the start is said, and no streak begins before it.
      began = Math.max(began, outage.firstFailureMono);
      // A failure in the hold continues the outage: no new first alert.
      if (this.state === 'recovering') this.state = 'alerting';
    }
    outage.lastFailureMono = mono;
    outage.streakFrom(began);
    return outage;
  }

  private afterFailure(outage: Outage, mono: number, write: boolean): TrackerEvent | null {
    if (!this.config.enabled) return null;
    if (this.state === 'alerting') {
      return outage.acknowledged === null && mono - outage.lastUnreachableMono >= this.config.cooldownMs
        ? this.unreachable(outage, mono)
        : null;
    }
    const due = this.checkThreshold(outage, mono);
    const window = this.window;
    if (due !== null || !write || window === null) return due;
    const reached = window.reached(mono);
    if (this.state !== 'degraded') return reached ? this.degradedAlert(outage, window, mono) : null;
    window.weigh(mono);
    const repeat = reached && outage.acknowledged === null && mono - outage.lastDegradedMono >= this.config.cooldownMs;
    return repeat ? this.degradedAlert(outage, window, mono) : null;
  }

  private succeed(mono: number): TrackerEvent | null {
    const outage = this.outage;
    if (outage === null) return this.settleWindow(mono);
    this.failureFloorMono = mono;
    outage.streakOpen = false;
    outage.consecutive = 0;
    const window = this.window;
    switch (this.state) {
      case 'failing':
        // Never alerted on: it ends silently, and the window keeps watching for a partial failure.
        this.reset(mono);
        return null;
      case 'alerting':
        outage.recoveredAt(mono, this.clock.wallNow());
        // An outage that was degraded before it escalated is partial again: the ratio decides its end.
        if (outage.degradedOccurrence > 0 && window !== null) {
          this.state = 'degraded';
          window.clearSinceMono = null;
          window.weigh(mono);
          return null;
        }
        this.state = 'recovering';
        return mono - outage.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(outage, mono) : null;
      case 'recovering':
        return mono - outage.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(outage, mono) : null;
      case 'degraded':
        if (window === null) return null;
        window.weigh(mono);
        return window.clearedBy(mono) ? this.endDegraded(outage, window, mono) : null;
      default:
        return this.settleWindow(mono);
    }
  }

  /** The unreachable alert, once the streak has lasted the threshold; `null` before. */
  private checkThreshold(outage: Outage, mono: number): TrackerEvent | null {
    const at = this.thresholdAt(outage);
    return at !== null && mono >= at ? this.unreachable(outage, mono) : null;
  }

  /**
   * When the unreachable alert falls due, or `null` while none can: the streak
   * has lasted the threshold and, for an outage that escalated before, the
   * cooldown has passed since that alert.
   */
  private thresholdAt(outage: Outage): number | null {
    if ((this.state !== 'failing' && this.state !== 'degraded') || !outage.streakOpen || !this.config.enabled) {
      return null;
    }
    const at = outage.streakStartMono + this.config.thresholdMs;
    // Acknowledged: an escalation is still said once, a repeat is not.
    if (outage.unreachableOccurrence > 0 && outage.acknowledged !== null) return null;
    return outage.unreachableOccurrence > 0 ? Math.max(at, outage.lastUnreachableMono + this.config.cooldownMs) : at;
  }

  private unreachable(outage: Outage, mono: number): StorageUnreachableEvent {
    this.state = 'alerting';
    if (this.window !== null) this.window.clearSinceMono = null;
    outage.alerted('unreachable', mono, this.clock.wallNow());
    return unreachableEvent(this.config, outage, mono);
  }

  private degradedAlert(outage: Outage, window: FailureWindow, mono: number): StorageDegradedEvent {
    // The outage did not start with the failure that tipped the ratio: it spans the window's failures.
    if (this.state === 'failing') outage.spanFailures(window.oldestFailureAt(), window.failures);
    this.state = 'degraded';
    outage.alerted('degraded', mono, this.clock.wallNow());
    return degradedEvent(this.config, outage, window);
  }

  private recover(outage: Outage, mono: number): StorageRecoveredEvent | null {
    // The failures the window holds were this outage's, now announced as ended: a later outage is not
    // alerted on them again (nor dated back to them). The window starts over, and closes at once.
    this.window?.open(mono);
    this.reset(mono);
    return this.config.notifyRecovery ? recoveredEvent(this.config, outage) : null;
  }

  private endDegraded(outage: Outage, window: FailureWindow, mono: number): StorageRecoveredEvent | null {
    outage.recoveredAt(window.clearSinceMono as number, window.clearSinceWall);
    return this.recover(outage, mono);
  }

  private reset(mono: number): void {
    if (this.outage !== null) this.ended.add(this.outage.id, outageCounts(this.config, this.outage));
    this.state = 'healthy';
    this.outage = null;
    this.failureFloorMono = mono;
    if (this.window !== null) this.window.clearSinceMono = null;
    this.settleWindow(mono);
  }

  /** Stops counting writes once the window holds no failure, so a healthy success costs nothing again. */
  private settleWindow(mono: number): null {
    if (this.state === 'healthy') this.window?.settle(mono);
    this.updateQuiet();
    return null;
  }

  private updateQuiet(): void {
    this.quiet = this.state === 'healthy' && !(this.window?.active ?? false) && this.probes.running === 0;
  }
}

import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type {
  RecordsRejectedEvent,
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import type { AuditStorageState, AuditStorageStatus } from './audit-storage-status.interface.js';
import { type AuditErrorClass, type AuditErrorClassifier, classifyError } from './error-classifiers.js';
import { errorText } from '../common/error-text.util.js';
import { openOutageTtlMs } from './open-outage-ttl.util.js';

/** Partial-failure detection over a sliding window of writes. */
export interface DegradedDetection {
  /** Share of the window's writes that must have failed, in (0, 1]. */
  readonly ratio: number;
  /** Length of the sliding window, in milliseconds. */
  readonly windowMs: number;
  /** Fewer writes than this in the window say nothing about a ratio. */
  readonly minWrites: number;
}

/** What the state machine needs to know; times are in milliseconds. */
export interface FailureTrackerConfig {
  readonly monitor: string;
  readonly serviceName: string;
  /** `false`: outages are tracked but never alerted on. */
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
  readonly notifyRecovery: boolean;
  /** `null`: no partial-failure detection. */
  readonly degraded: DegradedDetection | null;
  /** How long an alerted outage must see no failure after a success before its recovery is announced. */
  readonly recoveryHoldMs: number;
  /** Which failures are the storage's; absent or `null`: all of them. */
  readonly classify?: AuditErrorClassifier | null;
}

/** What a probe saw of the writes when it started, to tell whether they have spoken since. */
export interface ProbeMark {
  readonly writeSuccesses: number;
  readonly writeFailures: number;
}

/**
 * The open outage of a monitor as the next process needs it: its times are
 * wall-clock milliseconds, as a monotonic clock starts over with the process.
 */
export interface OutageSnapshot {
  readonly outageId: string;
  /** A recovery hold is kept as `'alerting'`: the success that began it is not the next process's evidence. */
  readonly state: 'failing' | 'degraded' | 'alerting';
  readonly firstFailureAt: number;
  readonly lastFailureAt: number;
  /** Write failures of the outage. */
  readonly eventsAffected: number;
  readonly probeFailures: number;
  /** Write failures since the last success. */
  readonly consecutiveFailures: number;
  /** When the failures with no success since began; `null` when a success came since. */
  readonly streakStartedAt: number | null;
  readonly unreachableOccurrence: number;
  readonly lastUnreachableAt: number | null;
  readonly degradedOccurrence: number;
  readonly lastDegradedAt: number | null;
  readonly lastAlertAt: number | null;
  readonly lastError: string | null;
  readonly lastProbeError: string | null;
}

/** Alerts the tracker can return. */
export type TrackerEvent = StorageUnreachableEvent | StorageDegradedEvent | StorageRecoveredEvent;

/** The window is counted in this many buckets: memory is fixed, whatever the write rate. */
const WINDOW_BUCKETS = 10;

/** A degraded period ends once the ratio has stayed below this share of `ratio` for a window (hysteresis). */
const CLEAR_RATIO_SHARE = 0.5;

/** Durations in events are whole milliseconds: the monotonic clock's fractions are noise, not precision. */
const wholeMs = (ms: number): number => Math.round(ms);

/**
 * The outage state machine, free of Nest and of timers: it reads the injected
 * clock, and every method returns the event to send, if any. Its state is
 * plain fields (numbers, strings, two small arrays), so it can be snapshotted.
 *
 * - healthy → failing: a failure opens an outage (new `outageId`).
 * - failing → alerting: the failures have lasted `thresholdMs` with no success
 *   (`audit.storage.unreachable`, sent by the owner's timer if need be).
 * - failing → degraded: the window's failure ratio reached `degraded.ratio`
 *   (`audit.storage.degraded`).
 * - degraded → alerting: the failures have lasted `thresholdMs` with no success
 *   (escalation, same `outageId`).
 * - failing → healthy: a success before any alert ends the outage silently.
 * - alerting → recovering → healthy: after a success, once no failure has been
 *   recorded for `recoveryHoldMs` (`audit.storage.recovered`); a failure in the
 *   hold goes back to alerting in the same outage.
 * - degraded → healthy: the ratio stayed below half of `degraded.ratio` for a
 *   window (`audit.storage.recovered`).
 *
 * Rejected records (failures `classify` calls `'record'`) never touch the
 * outage: they run on their own, from the first until none has come for
 * `max(thresholdMs, cooldownMs)`, and raise `audit.records.rejected` on a
 * rejection at least `thresholdMs` after the run's first, then at most once
 * per `cooldownMs`.
 *
 * Writes outrank probes: a probe's outcome counts only when no write has said
 * the opposite since the probe started, and never counts as a write.
 * The owner arms one timer for {@link FailureTracker.dueIn} and calls
 * {@link FailureTracker.checkDue} when it fires.
 */
export class FailureTracker {
  /** Read on every call of the hot path, hence a field and not a getter. */
  state: AuditStorageState = 'healthy';
  /** Healthy, no failure in the window, no probe running: a write success has nothing to update. */
  quiet = true;
  /** Write successes recorded while not quiet; a probe compares it before and after. */
  writeSuccesses = 0;
  /** Every write failure ever recorded; a probe compares it before and after. */
  writeFailures = 0;

  // The outage.
  private outageId: string | null = null;
  private firstFailureMono = 0;
  private firstFailureWall = 0;
  /** Write failures of the outage (`eventsAffected`). */
  private failures = 0;
  /** Probe failures that counted in the outage. */
  private probeFailures = 0;
  /** The last failed write and probe as recorded; texts derived on demand and kept. */
  private hasWriteError = false;
  private lastErrorValue: unknown = null;
  private hasProbeError = false;
  private lastProbeErrorValue: unknown = null;
  /** The last text derived, and of what: derived once however many statuses and alerts carry it. */
  private derivedText: { readonly of: unknown; readonly text: string } | null = null;
  private lastFailureMono = 0;

  // The streak: failures (of writes or probes) with no success since `streakStartMono`.
  private streakOpen = false;
  private streakStartMono = 0;
  /** Write failures of the streak (`consecutiveFailures`). */
  private consecutive = 0;

  // Alerts of the outage.
  private unreachableOccurrence = 0;
  private lastUnreachableMono = 0;
  private degradedOccurrence = 0;
  private lastDegradedMono = 0;
  private lastAlertWall: number | null = null;
  /** The success that began the current recovery hold, or the end of the degraded period. */
  private recoveredMono = 0;
  private recoveredWall = 0;

  // The sliding window of writes, active from a failure until a window holds none.
  private windowActive = false;
  private windowSinceMono = 0;
  private bucketIndex = 0;
  private readonly bucketWrites: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);
  private readonly bucketFailures: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);
  private windowWrites = 0;
  private windowFailures = 0;
  /** While degraded: since when the ratio has been below the lower bound, or `null`. */
  private belowSinceMono: number | null = null;
  private belowSinceWall = 0;

  // The run of rejected records, apart from the outage.
  private rejectedRunId: string | null = null;
  private rejectedCount = 0;
  private rejectedFirstMono = 0;
  private rejectedFirstWall = 0;
  private lastRejectedMono = 0;
  private lastRejectedValue: unknown = null;
  private rejectedOccurrence = 0;
  private lastRejectedAlertMono = 0;
  /** Probes started and not yet recorded. */
  private probesRunning = 0;

  private readonly bucketMs: number;

  constructor(
    private readonly config: FailureTrackerConfig,
    private readonly clock: Pick<AuditAlertClock, 'monotonicNow' | 'wallNow'>,
    private readonly newOutageId: () => string = randomUUID,
  ) {
    this.bucketMs = config.degraded ? config.degraded.windowMs / WINDOW_BUCKETS : 1;
  }

  /**
   * Records failed writes; returns the alert they trigger, if any.
   * @param count Writes that failed: `0` for a write already counted (one found hung that failed later).
   * @param beganAt Monotonic time the failure began, when earlier than now (a write found hung began when it started).
   */
  recordFailure(error: unknown, count = 1, beganAt?: number): TrackerEvent | null {
    const mono = this.clock.monotonicNow();
    this.writeFailures += count;
    if (count > 0) this.countWrite(mono, count, count);
    this.fail(mono, beganAt === undefined ? mono : Math.min(beganAt, mono));
    this.hasWriteError = true;
    this.lastErrorValue = error;
    this.failures += count;
    this.consecutive += count;
    return this.afterFailure(mono, count > 0);
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
    const mono = this.clock.monotonicNow();
    if (!this.rejectedRunOpen(mono)) {
      this.rejectedRunId = this.newOutageId();
      this.rejectedCount = 0;
      this.rejectedFirstMono = mono;
      this.rejectedFirstWall = this.clock.wallNow();
      this.rejectedOccurrence = 0;
    }
    this.rejectedCount += 1;
    this.lastRejectedMono = mono;
    this.lastRejectedValue = error;
    if (!this.config.enabled) return null;
    const due =
      this.rejectedOccurrence === 0
        ? mono - this.rejectedFirstMono >= this.config.thresholdMs
        : mono - this.lastRejectedAlertMono >= this.config.cooldownMs;
    if (!due) return null;
    this.rejectedOccurrence += 1;
    this.lastRejectedAlertMono = mono;
    return {
      type: AuditAlertEvents.RecordsRejected,
      outageId: this.rejectedRunId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      firstRejectedAt: new Date(this.rejectedFirstWall),
      rejectedRecords: this.rejectedCount,
      rejectedDurationMs: mono - this.rejectedFirstMono,
      lastError: errorText(error),
      occurrence: this.rejectedOccurrence,
    };
  }

  /** Whether a run of rejections is open at `mono`: one came within `max(thresholdMs, cooldownMs)`. */
  private rejectedRunOpen(mono: number): boolean {
    return (
      this.rejectedRunId !== null &&
      mono - this.lastRejectedMono <= Math.max(this.config.thresholdMs, this.config.cooldownMs)
    );
  }

  /** Records a successful write; returns the recovery it completes, if any. */
  recordSuccess(): TrackerEvent | null {
    if (this.quiet) return null;
    this.writeSuccesses += 1;
    const mono = this.clock.monotonicNow();
    this.countWrite(mono, 1, 0);
    return this.succeed(mono);
  }

  /** What a probe starting now must remember, to weigh its outcome against the writes seen meanwhile. */
  probeMark(): ProbeMark {
    // While a probe runs, successes are counted even when healthy: its outcome is weighed against them.
    this.probesRunning += 1;
    this.quiet = false;
    return { writeSuccesses: this.writeSuccesses, writeFailures: this.writeFailures };
  }

  /**
   * Records a failed probe: it opens or prolongs an outage only when no write
   * has succeeded since the probe started. It never counts as a failed write.
   */
  recordProbeFailure(error: unknown, mark: ProbeMark): TrackerEvent | null {
    this.probeEnded();
    if (this.writeSuccesses !== mark.writeSuccesses) return null;
    const mono = this.clock.monotonicNow();
    this.fail(mono, mono);
    this.hasProbeError = true;
    this.lastProbeErrorValue = error;
    this.probeFailures += 1;
    return this.afterFailure(mono, false);
  }

  /**
   * Records a passing probe: it counts as a success only when no write has
   * failed since the probe started; it never counts as a write.
   */
  recordProbeSuccess(mark: ProbeMark): TrackerEvent | null {
    this.probeEnded();
    if (this.state === 'healthy' || this.writeFailures !== mark.writeFailures) return null;
    return this.succeed(this.clock.monotonicNow());
  }

  /**
   * Sends what time alone makes due: the first unreachable alert once the
   * threshold has passed, the recovery once a hold or a degraded period has
   * run out. Safe to call at any time.
   */
  checkDue(): TrackerEvent | null {
    if (this.state === 'healthy') return null;
    const mono = this.clock.monotonicNow();
    if (this.state === 'recovering') {
      return mono - this.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(mono) : null;
    }
    if (this.state === 'degraded' && this.belowSinceMono !== null) {
      this.rotate(mono);
      this.weighDegraded(mono);
      if (this.belowSinceMono !== null && mono - this.belowSinceMono >= this.windowMs()) {
        return this.endDegraded(mono);
      }
    }
    return this.checkThreshold(mono);
  }

  /** Milliseconds until {@link checkDue} may have something to send, or `null` when only a write or probe can change that. */
  dueIn(): number | null {
    let at = this.thresholdAt() ?? Number.POSITIVE_INFINITY;
    if (this.state === 'recovering') at = Math.min(at, this.lastFailureMono + this.config.recoveryHoldMs);
    if (this.state === 'degraded' && this.belowSinceMono !== null) {
      at = Math.min(at, this.belowSinceMono + this.windowMs());
    }
    return at === Number.POSITIVE_INFINITY ? null : Math.max(0, at - this.clock.monotonicNow());
  }

  /**
   * A snapshot of the current state, with `null` outage fields while healthy.
   * Its error texts are derived when first read, so a status taken on the write
   * path (for `status$`) costs no error text there.
   * @param pendingWrites Writes in flight, which the owner counts.
   */
  status(pendingWrites = 0): AuditStorageStatus {
    const open = this.state !== 'healthy';
    const status = {
      monitor: this.config.monitor,
      state: this.state,
      outageId: this.outageId,
      firstFailureAt: open ? new Date(this.firstFailureWall) : null,
      consecutiveFailures: open ? this.consecutive : 0,
      eventsAffected: open ? this.failures : 0,
      lastError: null as string | null,
      lastAlertAt: this.lastAlertWall === null ? null : new Date(this.lastAlertWall),
      probeFailures: open ? this.probeFailures : 0,
      lastProbeError: null as string | null,
      failureRatio: this.windowActive && this.windowWrites > 0 ? this.windowFailures / this.windowWrites : null,
      pendingWrites,
      rejectedRecords: 0,
      lastRejectedError: null as string | null,
    };
    if (this.rejectedRunId !== null && this.rejectedRunOpen(this.clock.monotonicNow())) {
      status.rejectedRecords = this.rejectedCount;
      const rejected = this.lastRejectedValue;
      lazyText(status, 'lastRejectedError', () => errorText(rejected));
    }
    if (open) {
      const write = this.hasWriteError ? this.lastErrorValue : this.lastProbeErrorValue;
      lazyText(status, 'lastError', () => this.textOf(write));
      if (this.hasProbeError) {
        const probe = this.lastProbeErrorValue;
        lazyText(status, 'lastProbeError', () => this.textOf(probe));
      }
    }
    return status;
  }

  /** The open outage as the next process needs it; `null` while healthy. */
  snapshot(): OutageSnapshot | null {
    if (this.state === 'healthy') return null;
    const mono = this.clock.monotonicNow();
    const wallNow = this.clock.wallNow();
    const wall = (at: number): number => Math.round(wallNow - (mono - at));
    return {
      outageId: this.outageId as string,
      state: this.state === 'recovering' ? 'alerting' : this.state,
      firstFailureAt: Math.round(this.firstFailureWall),
      lastFailureAt: wall(this.lastFailureMono),
      eventsAffected: this.failures,
      probeFailures: this.probeFailures,
      consecutiveFailures: this.consecutive,
      streakStartedAt: this.streakOpen ? wall(this.streakStartMono) : null,
      unreachableOccurrence: this.unreachableOccurrence,
      lastUnreachableAt: this.unreachableOccurrence > 0 ? wall(this.lastUnreachableMono) : null,
      degradedOccurrence: this.degradedOccurrence,
      lastDegradedAt: this.degradedOccurrence > 0 ? wall(this.lastDegradedMono) : null,
      lastAlertAt: this.lastAlertWall === null ? null : Math.round(this.lastAlertWall),
      lastError: this.hasWriteError ? this.textOf(this.lastErrorValue) : null,
      lastProbeError: this.hasProbeError ? errorText(this.lastProbeErrorValue) : null,
    };
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
    const mono = this.clock.monotonicNow();
    const wallNow = this.clock.wallNow();
    // A time ahead of this clock (another host's, or a clock set back) counts as now.
    const monoOf = (at: number): number => mono - Math.max(0, wallNow - at);
    const alerted = saved.unreachableOccurrence > 0 || saved.degradedOccurrence > 0;
    if (!alerted && wallNow - saved.lastFailureAt > openOutageTtlMs(this.config)) return false;
    this.state = saved.state === 'degraded' && this.config.degraded === null ? 'alerting' : saved.state;
    this.quiet = false;
    this.outageId = saved.outageId;
    this.firstFailureWall = Math.min(saved.firstFailureAt, wallNow);
    this.firstFailureMono = monoOf(saved.firstFailureAt);
    this.lastFailureMono = monoOf(saved.lastFailureAt);
    this.failures = saved.eventsAffected;
    this.probeFailures = saved.probeFailures;
    this.consecutive = saved.consecutiveFailures;
    this.streakOpen = saved.streakStartedAt !== null;
    this.streakStartMono = saved.streakStartedAt === null ? 0 : monoOf(saved.streakStartedAt);
    this.unreachableOccurrence = saved.unreachableOccurrence;
    this.lastUnreachableMono = saved.lastUnreachableAt === null ? 0 : monoOf(saved.lastUnreachableAt);
    this.degradedOccurrence = saved.degradedOccurrence;
    this.lastDegradedMono = saved.lastDegradedAt === null ? 0 : monoOf(saved.lastDegradedAt);
    this.lastAlertWall = saved.lastAlertAt;
    this.hasWriteError = saved.lastError !== null;
    this.lastErrorValue = saved.lastError;
    this.hasProbeError = saved.lastProbeError !== null;
    this.lastProbeErrorValue = saved.lastProbeError;
    this.belowSinceMono = null;
    // The writes of the window died with the process: a degraded outage counts them again from now.
    if (this.state === 'degraded') this.openWindow(mono);
    return true;
  }

  /** Opens the outage and the streak as a failure that began at `began` requires. */
  private fail(mono: number, began: number): void {
    this.lastFailureMono = mono;
    if (this.state === 'healthy') {
      this.state = 'failing';
      this.quiet = false;
      this.outageId = this.newOutageId();
      this.firstFailureMono = began;
      this.firstFailureWall = this.clock.wallNow() - (mono - began);
      this.failures = 0;
      this.probeFailures = 0;
      this.unreachableOccurrence = 0;
      this.degradedOccurrence = 0;
      this.lastAlertWall = null;
    } else if (this.state === 'failing') {
      // Not alerted yet, so nothing has been said about the start: an older stuck write moves it back.
      if (began < this.firstFailureMono) {
        this.firstFailureWall -= this.firstFailureMono - began;
        this.firstFailureMono = began;
      }
    } else {
      // Alerted already: the start is said, and no streak begins before it.
      began = Math.max(began, this.firstFailureMono);
      // A failure in the hold continues the outage: no new first alert.
      if (this.state === 'recovering') this.state = 'alerting';
    }
    if (!this.streakOpen) {
      this.streakOpen = true;
      this.streakStartMono = began;
      this.consecutive = 0;
    } else if (began < this.streakStartMono) {
      this.streakStartMono = began;
    }
  }

  private afterFailure(mono: number, write: boolean): TrackerEvent | null {
    if (!this.config.enabled) return null;
    if (this.state === 'alerting') {
      return mono - this.lastUnreachableMono >= this.config.cooldownMs ? this.unreachable(mono) : null;
    }
    const due = this.checkThreshold(mono);
    if (due !== null || !write || this.config.degraded === null) return due;
    const reached = this.degradedReached(mono);
    if (this.state === 'degraded') {
      this.weighDegraded(mono);
      return reached && mono - this.lastDegradedMono >= this.config.cooldownMs ? this.degradedAlert(mono) : null;
    }
    return reached ? this.degradedAlert(mono) : null;
  }

  private succeed(mono: number): TrackerEvent | null {
    this.streakOpen = false;
    this.consecutive = 0;
    switch (this.state) {
      case 'failing':
        // Never alerted on: it ends silently, and the window keeps watching for a partial failure.
        this.reset(mono);
        return null;
      case 'alerting':
        this.recoveredMono = mono;
        this.recoveredWall = this.clock.wallNow();
        // An outage that was degraded before it escalated is partial again: the ratio decides its end.
        if (this.degradedOccurrence > 0 && this.config.degraded !== null) {
          this.state = 'degraded';
          this.belowSinceMono = null;
          this.rotate(mono);
          this.weighDegraded(mono);
          return null;
        }
        this.state = 'recovering';
        return mono - this.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(mono) : null;
      case 'recovering':
        return mono - this.lastFailureMono >= this.config.recoveryHoldMs ? this.recover(mono) : null;
      case 'degraded':
        this.rotate(mono);
        this.weighDegraded(mono);
        if (this.belowSinceMono !== null && mono - this.belowSinceMono >= this.windowMs()) {
          return this.endDegraded(mono);
        }
        return null;
      default:
        return this.settleWindow(mono);
    }
  }

  /** The unreachable alert, once the streak has lasted the threshold; `null` before. */
  private checkThreshold(mono: number): TrackerEvent | null {
    const at = this.thresholdAt();
    return at !== null && mono >= at ? this.unreachable(mono) : null;
  }

  /**
   * When the unreachable alert falls due, or `null` while none can: the streak
   * has lasted the threshold and, for an outage that escalated before, the
   * cooldown has passed since that alert.
   */
  private thresholdAt(): number | null {
    if ((this.state !== 'failing' && this.state !== 'degraded') || !this.streakOpen || !this.config.enabled) {
      return null;
    }
    const at = this.streakStartMono + this.config.thresholdMs;
    return this.unreachableOccurrence > 0 ? Math.max(at, this.lastUnreachableMono + this.config.cooldownMs) : at;
  }

  private unreachable(mono: number): StorageUnreachableEvent {
    this.state = 'alerting';
    this.belowSinceMono = null;
    this.lastUnreachableMono = mono;
    this.lastAlertWall = this.clock.wallNow();
    this.unreachableOccurrence += 1;
    return {
      type: AuditAlertEvents.StorageUnreachable,
      outageId: this.outageId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      firstFailureAt: new Date(this.firstFailureWall),
      consecutiveFailures: this.consecutive,
      unreachableDurationMs: wholeMs(mono - this.firstFailureMono),
      lastError: this.lastError(),
      occurrence: this.unreachableOccurrence,
      probeFailures: this.probeFailures,
    };
  }

  private degradedAlert(mono: number): StorageDegradedEvent {
    // The outage did not start with the failure that tipped the ratio: it spans the window's failures.
    if (this.state === 'failing') this.adoptWindow();
    this.state = 'degraded';
    this.lastDegradedMono = mono;
    this.lastAlertWall = this.clock.wallNow();
    this.degradedOccurrence += 1;
    return {
      type: AuditAlertEvents.StorageDegraded,
      outageId: this.outageId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      failureRatio: this.windowFailures / this.windowWrites,
      writes: this.windowWrites,
      failures: this.windowFailures,
      windowMs: this.windowMs(),
      lastError: this.lastError(),
      firstFailureAt: new Date(this.firstFailureWall),
      occurrence: this.degradedOccurrence,
    };
  }

  private recover(mono: number): StorageRecoveredEvent | null {
    const event = this.recoveredEvent();
    this.reset(mono);
    return event;
  }

  private endDegraded(mono: number): StorageRecoveredEvent | null {
    this.recoveredMono = this.belowSinceMono as number;
    this.recoveredWall = this.belowSinceWall;
    return this.recover(mono);
  }

  private recoveredEvent(): StorageRecoveredEvent | null {
    if (!this.config.notifyRecovery) return null;
    return {
      type: AuditAlertEvents.StorageRecovered,
      outageId: this.outageId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      outageStartedAt: new Date(this.firstFailureWall),
      recoveredAt: new Date(this.recoveredWall),
      outageDurationMs: wholeMs(this.recoveredMono - this.firstFailureMono),
      eventsAffected: this.failures,
    };
  }

  private reset(mono: number): void {
    this.state = 'healthy';
    this.outageId = null;
    this.failures = 0;
    this.probeFailures = 0;
    this.streakOpen = false;
    this.consecutive = 0;
    this.hasWriteError = false;
    this.lastErrorValue = null;
    this.hasProbeError = false;
    this.lastProbeErrorValue = null;
    this.derivedText = null;
    this.lastAlertWall = null;
    this.unreachableOccurrence = 0;
    this.degradedOccurrence = 0;
    this.belowSinceMono = null;
    this.settleWindow(mono);
  }

  /** Stops counting writes once the window holds no failure, so a healthy success costs nothing again. */
  private settleWindow(mono: number): null {
    if (this.windowActive && this.state === 'healthy') {
      this.rotate(mono);
      if (this.windowFailures === 0) this.windowActive = false;
    }
    this.updateQuiet();
    return null;
  }

  private probeEnded(): void {
    this.probesRunning -= 1;
    this.updateQuiet();
  }

  private updateQuiet(): void {
    this.quiet = this.state === 'healthy' && !this.windowActive && this.probesRunning === 0;
  }

  private windowMs(): number {
    return this.config.degraded?.windowMs ?? 0;
  }

  /** Counts writes in the window, opening it at a failure. */
  private countWrite(mono: number, writes: number, failures: number): void {
    if (this.config.degraded === null) return;
    if (!this.windowActive) {
      if (failures === 0) return;
      this.openWindow(mono);
    } else {
      this.rotate(mono);
    }
    const slot = this.bucketIndex % WINDOW_BUCKETS;
    this.bucketWrites[slot]! += writes;
    this.bucketFailures[slot]! += failures;
    this.windowWrites += writes;
    this.windowFailures += failures;
  }

  private openWindow(mono: number): void {
    this.windowActive = true;
    this.windowSinceMono = mono;
    this.bucketIndex = Math.floor(mono / this.bucketMs);
    this.bucketWrites.fill(0);
    this.bucketFailures.fill(0);
    this.windowWrites = 0;
    this.windowFailures = 0;
  }

  /** Drops the buckets that have left the window. */
  private rotate(mono: number): void {
    const index = Math.floor(mono / this.bucketMs);
    const steps = Math.min(index - this.bucketIndex, WINDOW_BUCKETS);
    for (let step = 1; step <= steps; step += 1) {
      const slot = (this.bucketIndex + step) % WINDOW_BUCKETS;
      this.windowWrites -= this.bucketWrites[slot]!;
      this.windowFailures -= this.bucketFailures[slot]!;
      this.bucketWrites[slot] = 0;
      this.bucketFailures[slot] = 0;
    }
    if (index > this.bucketIndex) this.bucketIndex = index;
  }

  /**
   * Whether the window shows a partial failure: it has been counting for a
   * whole window (so it holds every write of the last `windowMs`), holds
   * enough writes, and enough of them failed.
   */
  private degradedReached(mono: number): boolean {
    const degraded = this.config.degraded;
    if (degraded === null || !this.windowActive || mono - this.windowSinceMono < degraded.windowMs) return false;
    return this.windowWrites >= degraded.minWrites && this.windowFailures >= degraded.ratio * this.windowWrites;
  }

  /**
   * Stretches an outage not alerted on yet over the failures of the window:
   * its start goes back to the oldest bucket holding one (to a tenth of the
   * window), and its count to the window's failures.
   */
  private adoptWindow(): void {
    for (let age = WINDOW_BUCKETS - 1; age >= 0; age -= 1) {
      const index = this.bucketIndex - age;
      if (this.bucketFailures[index % WINDOW_BUCKETS]! === 0) continue;
      const began = Math.max(index * this.bucketMs, this.windowSinceMono);
      if (began < this.firstFailureMono) {
        this.firstFailureWall -= this.firstFailureMono - began;
        this.firstFailureMono = began;
      }
      break;
    }
    this.failures = Math.max(this.failures, this.windowFailures);
  }

  /** Starts or stops the clock of the hysteresis while degraded. */
  private weighDegraded(mono: number): void {
    const ratio = (this.config.degraded as DegradedDetection).ratio * CLEAR_RATIO_SHARE;
    const below = this.windowFailures < ratio * this.windowWrites || this.windowWrites === 0;
    if (!below) this.belowSinceMono = null;
    else if (this.belowSinceMono === null) {
      this.belowSinceMono = mono;
      this.belowSinceWall = this.clock.wallNow();
    }
  }

  /** The last failed write's text, or the probe's when no write has failed in the outage. */
  private lastError(): string {
    return this.textOf(this.hasWriteError ? this.lastErrorValue : this.lastProbeErrorValue);
  }

  /** The text of `error`, derived once however many statuses and alerts carry it. */
  private textOf(error: unknown): string {
    if (this.derivedText === null || this.derivedText.of !== error) {
      this.derivedText = { of: error, text: errorText(error) };
    }
    return this.derivedText.text;
  }
}

/** Makes `key` of `status` a text derived when first read, then kept. */
function lazyText(
  status: object,
  key: 'lastError' | 'lastProbeError' | 'lastRejectedError',
  derive: () => string,
): void {
  Object.defineProperty(status, key, {
    enumerable: true,
    configurable: true,
    get: (): string => {
      const text = derive();
      Object.defineProperty(status, key, { value: text, enumerable: true });
      return text;
    },
  });
}

import type { Observable } from 'rxjs';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { ResolvedMonitorOptions, ResolvedProbeOptions } from '../audit-alert.options.js';
import type { AuditOutageEvent } from '../events/audit-alert-event.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import type { AuditMonitorMetrics } from '../metrics/audit-monitor-metrics.interface.js';
import { withTimeout } from '../common/timeout.util.js';
import { AuditSpool } from '../spool/audit-spool.js';
import type { AuditTrackOptions } from '../spool/spool-options.interface.js';
import type { AuditStorageState, AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import { AuditWriteTimeoutError } from '../errors/audit-write-timeout.error.js';
import { AuditStatusPublisher } from './audit-status.publisher.js';
import { FailureTracker, type ProbeMark } from '../tracker/failure-tracker.js';
import type { OutageSnapshot } from '../tracker/outage-snapshot.js';
import { PendingWrites, type WriteGeneration } from '../tracker/pending-writes.js';

/** A generation of tracked writes with the settle handlers all its writes share. */
interface TrackedGeneration extends WriteGeneration {
  readonly onSuccess: <T>(value: T) => T;
  readonly onFailure: (error: unknown) => never;
}

/**
 * Watches one audit storage: the application reports each write's outcome
 * (`track()`, or `recordFailure()`/`recordSuccess()`), and the monitor sends
 * `audit.storage.unreachable` when failures last past the threshold (a write
 * hung past `writeTimeoutMs` is a failure), `audit.storage.degraded` when a
 * share of the writes keeps failing, and `audit.storage.recovered` when they end. Inject it anywhere; named monitors
 * come from `@InjectAuditMonitor(name)` or `AuditMonitorRegistry`.
 */
export class AuditStorageMonitor {
  /**
   * Emits the status on every change of state (not on every failure), on a later
   * turn of the event loop; a subscriber that throws is logged and harms nothing.
   */
  readonly status$: Observable<AuditStorageStatus>;
  /** Name of this monitor, carried in its events. */
  readonly name: string;
  /** @internal The alternate audit log of the `spool` option; `null` without one. */
  readonly spool: AuditSpool | null;

  private readonly statusPublisher: AuditStatusPublisher;
  private readonly tracker: FailureTracker;
  private readonly probe: ResolvedProbeOptions | null;
  /** Writes in flight, watched for hangs; `null` with `writeTimeoutMs: false`. */
  private readonly writes: PendingWrites<TrackedGeneration> | null;
  /** The one timer for what time alone makes due, and the monotonic time it fires at. */
  private dueTimer: AuditAlertTimer | null = null;
  private dueAt = 0;
  private sweepTimer: AuditAlertTimer | null = null;
  private probeTimer: AuditAlertTimer | null = null;
  /** The probe run in flight, shared by whoever asks for one meanwhile. */
  private probing: Promise<void> | null = null;
  private started = false;
  private closed = false;
  // Made once: track() is on the write path of every audit record.
  private readonly onTrackedSuccess = <T>(value: T): T => {
    this.recordSuccess();
    return value;
  };
  private readonly onTrackedFailure = (error: unknown): never => {
    this.recordFailure(error);
    throw error;
  };

  /** @internal Built by the module; inject it rather than constructing it. */
  constructor(
    options: ResolvedMonitorOptions,
    private readonly clock: AuditAlertClock,
    /** Where every transition goes: sent alone, or decided with the other replicas. */
    private readonly sink: AlertSink,
    /** Counts outcomes for OpenTelemetry; `null` when metrics are off. */
    private readonly metrics: AuditMonitorMetrics | null = null,
  ) {
    this.name = options.name;
    this.probe = options.probe;
    this.tracker = new FailureTracker({ ...options, monitor: options.name }, clock);
    this.writes =
      options.writeTimeoutMs === false
        ? null
        : new PendingWrites(options.writeTimeoutMs, clock, (openedAt) => this.generation(openedAt));
    this.statusPublisher = new AuditStatusPublisher(options.name);
    this.status$ = this.statusPublisher.status$;
    this.spool =
      options.spool &&
      new AuditSpool(
        options.spool,
        {
          name: options.name,
          serviceName: options.serviceName,
          writeTimeoutMs: options.writeTimeoutMs,
          state: () => this.tracker.state,
          track: (op) => this.track(op),
          classify: (error) => this.tracker.classify(error),
        },
        clock,
        sink,
      );
  }

  /** Records a failed write. Never throws, whatever `error` is. */
  recordFailure(error: unknown): void {
    const kind = this.tracker.classify(error);
    if (kind !== 'storage') {
      if (kind === 'record') this.rejected(error);
      return;
    }
    this.metrics?.failure();
    this.failed(error, 1);
  }

  /** A write the storage answered but refused for its record: a lost record, never part of an outage. */
  private rejected(error: unknown): void {
    this.metrics?.rejectedRecord();
    const event = this.tracker.recordRejected(error);
    if (event) this.sink.send(event);
  }

  /** Records a successful write; ends an open outage, or starts the hold before its recovery. */
  recordSuccess(): void {
    this.metrics?.success();
    const tracker = this.tracker;
    // Healthy with nothing to count, no probe running (the common case): a branch and a return.
    if (tracker.quiet) return this.succeededWhileQuiet();
    const before = tracker.state;
    const event = tracker.recordSuccess();
    // Healthy before and after: at most a window counter moved, nothing to tell anyone.
    if (before === 'healthy' && tracker.state === 'healthy') return this.succeededWhileQuiet();
    this.settle(before, event);
  }

  /**
   * Runs `op` (or awaits it, when given a promise), records its outcome, and
   * resolves or rejects exactly as it did.
   */
  track<T>(op: Promise<T> | (() => T | Promise<T>)): Promise<T>;
  /**
   * The same, handing the module the audit record the write carries: with a
   * `spool`, when the write fails or hangs past `writeTimeoutMs`, the record is
   * kept on disk and `track()` resolves `undefined` once it is; it rejects
   * with the write's error only when the spool cannot keep it. Without a
   * spool, `options` changes nothing.
   */
  track<T>(op: Promise<T> | (() => T | Promise<T>), options: AuditTrackOptions): Promise<T | undefined>;
  track<T>(op: Promise<T> | (() => T | Promise<T>), options?: AuditTrackOptions): Promise<T | undefined> {
    const outcome = this.trackOutcome(op);
    return options === undefined || this.spool === null ? outcome : this.spool.keep(outcome, options);
  }

  private trackOutcome<T>(op: Promise<T> | (() => T | Promise<T>)): Promise<T> {
    let pending: T | Promise<T>;
    try {
      pending = typeof op === 'function' ? op() : op;
    } catch (error) {
      this.recordFailure(error);
      return Promise.reject(error);
    }
    const settled = pending instanceof Promise ? pending : Promise.resolve(pending);
    const writes = this.writes;
    if (writes === null) return settled.then(this.onTrackedSuccess, this.onTrackedFailure);
    // No clock read and no timer per write: the write joins the generation open since the last sweep.
    const generation = writes.current ?? this.openGeneration(writes);
    generation.pending += 1;
    return settled.then(generation.onSuccess, generation.onFailure);
  }

  /** Whether this monitor has a `probe` to check the storage with. */
  get hasProbe(): boolean {
    return this.probe !== null;
  }

  /**
   * Runs the probe now (or joins the run in flight), records its outcome as the
   * timed probe does, and resolves once it is recorded: within the probe's
   * `timeoutMs`. Lets a health check ask the storage itself instead of waiting
   * for a write, which may never come while the check keeps traffic away.
   * @returns `false`, at once, when the monitor has no probe or is closed; `true` otherwise.
   */
  async probeNow(): Promise<boolean> {
    const probe = this.probe;
    if (!probe || this.closed) return false;
    this.disarm('probeTimer');
    await (this.probing ?? this.runProbe(probe));
    return true;
  }

  /** What the monitor knows right now. */
  getStatus(): AuditStorageStatus {
    return this.tracker.status(this.writes?.pendingCount ?? 0);
  }

  /**
   * @internal Resumes an outage a process before this one left open (see
   * {@link FailureTracker.restore}); called before anything can be tracked.
   * @returns Whether it was resumed.
   */
  resume(saved: OutageSnapshot): boolean {
    if (!this.tracker.restore(saved)) return false;
    // What fell due while no process ran (a threshold) is sent at once.
    this.settle('healthy', null);
    return true;
  }

  /** @internal Starts probing while healthy, where configured; called once the application has started. */
  start(): void {
    this.started = true;
    this.sink.start();
    this.spool?.start();
    this.scheduleProbe();
  }

  /** @internal Stops every timer and probe for good; called at shutdown. */
  close(): void {
    this.closed = true;
    this.sink.close();
    this.disarm('dueTimer');
    this.spool?.close();
    this.disarm('sweepTimer');
    this.disarm('probeTimer');
    this.statusPublisher.complete();
  }

  /**
   * A success while healthy ends what this process never saw end: an alerted
   * outage of the cluster, or the incident an earlier process left open.
   */
  private succeededWhileQuiet(): void {
    if (this.sink.awaitsSuccess) this.sink.succeededWhileHealthy();
  }

  private failed(error: unknown, count: number, beganAt?: number): void {
    const before = this.tracker.state;
    const event = this.tracker.recordFailure(error, count, beganAt);
    this.settle(before, event);
  }

  private generation(openedAt: number): TrackedGeneration {
    const writes = this.writes as PendingWrites<TrackedGeneration>;
    const generation: TrackedGeneration = {
      openedAt,
      closedAt: Number.POSITIVE_INFINITY,
      pending: 0,
      hung: false,
      onSuccess: <T>(value: T): T => {
        writes.settled(generation, true);
        this.recordSuccess();
        return value;
      },
      onFailure: (error: unknown): never => {
        const kind = this.tracker.classify(error);
        if (kind !== 'storage') {
          // The storage answered: for the hung-write watch this write settled as a success would.
          writes.settled(generation, true);
          if (kind === 'record') this.rejected(error);
          throw error;
        }
        // A write already counted when found hung updates the error, not the count, unless its outage has ended.
        const counted = generation.hung && this.tracker.state !== 'healthy';
        writes.settled(generation, false);
        this.metrics?.failure();
        this.failed(error, counted ? 0 : 1);
        throw error;
      },
    };
    return generation;
  }

  private openGeneration(writes: PendingWrites<TrackedGeneration>): TrackedGeneration {
    const generation = writes.open();
    if (this.sweepTimer === null && !this.closed) this.armSweep(writes);
    return generation;
  }

  private armSweep(writes: PendingWrites<TrackedGeneration>): void {
    this.sweepTimer = this.clock.setTimer(() => {
      this.sweepTimer = null;
      const hung = writes.sweep();
      if (hung !== null && !this.closed) {
        this.failed(new AuditWriteTimeoutError(writes.timeoutMs, hung.count), hung.count, hung.beganAt);
      }
      // One timer per monitor, and only while some write is pending and not yet found hung.
      if (writes.watching && this.sweepTimer === null && !this.closed) this.armSweep(writes);
    }, writes.sweepEveryMs);
  }

  private settle(before: AuditStorageState, event: AuditOutageEvent | null): void {
    const after = this.tracker.state;
    if (this.spool !== null && before !== 'healthy' && after === 'healthy') {
      event = this.spool.outageEnded(event);
    }
    if (event !== null || after !== before) {
      const tracker = this.tracker;
      this.sink.transition({ before, after, event, status: tracker.status(), snapshot: () => tracker.snapshot() });
    }
    this.armDueTimer();
    if (after === 'healthy') {
      if (!this.probe?.whileHealthy) this.disarm('probeTimer');
    } else if (before === 'healthy') {
      this.scheduleProbe();
    }
    if (after !== before) this.statusPublisher.publish(() => this.getStatus());
  }

  /** Keeps one timer armed for the next thing time alone makes due (threshold, hold, end of a degraded period). */
  private armDueTimer(): void {
    const dueIn = this.tracker.dueIn();
    if (dueIn === null || this.closed) {
      this.disarm('dueTimer');
      return;
    }
    const at = this.clock.monotonicNow() + dueIn;
    // A timer armed for earlier stays: when it fires, it re-arms for what is due then.
    if (this.dueTimer !== null && this.dueAt <= at) return;
    this.disarm('dueTimer');
    this.dueAt = at;
    this.dueTimer = this.clock.setTimer(() => {
      this.dueTimer = null;
      const before = this.tracker.state;
      this.settle(before, this.tracker.checkDue());
    }, dueIn);
  }

  private disarm(timer: 'dueTimer' | 'sweepTimer' | 'probeTimer'): void {
    if (this[timer] === null) return;
    this.clock.clearTimer(this[timer]);
    this[timer] = null;
  }

  /** Arms the next check, unless one is armed or running, or none is wanted now. */
  private scheduleProbe(): void {
    const probe = this.probe;
    if (!probe || this.closed || this.probing || this.probeTimer !== null) return;
    const wanted = this.tracker.state !== 'healthy' || (probe.whileHealthy && this.started);
    if (!wanted) return;
    this.probeTimer = this.clock.setTimer(() => {
      this.probeTimer = null;
      void this.runProbe(probe);
    }, probe.intervalMs);
  }

  private runProbe(probe: ResolvedProbeOptions): Promise<void> {
    const run = this.probeOnce(probe).finally(() => {
      this.probing = null;
      this.scheduleProbe();
    });
    this.probing = run;
    return run;
  }

  private async probeOnce(probe: ResolvedProbeOptions): Promise<void> {
    // Writes outrank probes: what the writes say while the check runs wins over its outcome.
    const mark = this.tracker.probeMark();
    try {
      await withTimeout(
        () => probe.check(),
        probe.timeoutMs,
        this.clock,
        () => new Error(`Probe of monitor "${this.name}" did not answer within ${probe.timeoutMs} ms`),
      );
      if (!this.closed) this.probed(true, null, mark);
    } catch (error) {
      if (!this.closed) this.probed(false, error, mark);
    }
  }

  private probed(passed: boolean, error: unknown, mark: ProbeMark): void {
    if (passed) this.metrics?.success();
    else this.metrics?.failure();
    const before = this.tracker.state;
    const event = passed ? this.tracker.recordProbeSuccess(mark) : this.tracker.recordProbeFailure(error, mark);
    this.settle(before, event);
    if (passed && before === 'healthy' && this.tracker.state === 'healthy') this.succeededWhileQuiet();
  }
}

import type { Observable } from 'rxjs';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { ResolvedMonitorOptions, ResolvedProbeOptions } from '../audit-alert.options.js';
import type { AuditOutageEvent } from '../events/audit-alert-event.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import type { AuditMonitorMetrics } from '../metrics/audit-monitor-metrics.interface.js';
import { withTimeout } from '../common/timeout.util.js';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditGapRecorder } from '../gap/audit-gap.recorder.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import { AuditSpool, KeptWrite, RecordWrite } from '../spool/audit-spool.js';
import type { AuditTrackOptions, AuditWrite } from '../spool/spool-options.interface.js';
import type { AuditStorageState, AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import type { AuditErrorClass } from '../tracker/error-class.util.js';
import { AuditStatusPublisher } from './audit-status.publisher.js';
import { FailureTracker } from '../tracker/failure-tracker.js';
import type { ProbeMark } from '../tracker/probe-weighing.js';
import type { OutageSnapshot } from '../tracker/outage-snapshot.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import { WriteWatch } from './write-watch.js';

/** A write begun with {@link AuditStorageMonitor.beginWrite}, settled once by one of these. */
export interface PendingWrite {
  succeeded(): void;
  failed(error: unknown): void;
  /** Its caller gave up on it before it answered: nothing is recorded. */
  abandoned(): void;
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
  private readonly writes: WriteWatch | null;
  /** The one timer for what time alone makes due, and the monotonic time it fires at. */
  private dueTimer: AuditAlertTimer | null = null;
  private dueAt = 0;
  private probeTimer: AuditAlertTimer | null = null;
  /** The probe run in flight, shared by whoever asks for one meanwhile. */
  private probing: Promise<void> | null = null;
  private started = false;
  private closed = false;
  /**
   * A success now changes nothing and tells no one: no metrics, the tracker quiet,
   * the sink awaiting none. Set by a success that found it so; cleared by anything
   * else that reaches the tracker or the sink, so a success while healthy stays a
   * branch and a return.
   */
  private idle = false;
  /**
   * Storage failures of the open outage whose record no spool was handed
   * (`recordFailure()`, `track(op)` without a record, a hung write without
   * one); `0` while healthy. Any one of them means the outage lost a record.
   */
  private unkeptFailures = 0;
  /** Set while a failure being recorded is that of a write whose record the spool takes. */
  private keepingFailure = false;
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
    /** Writes the gap of each alerted outage through the `gapRecord` option; `null` without one. */
    private readonly gaps: AuditGapRecorder | null = null,
    /** The evidence ledger, where the spool records its head; `null` without the `ledger` option. */
    ledger: AuditLedgerWriter | null = null,
  ) {
    this.name = options.name;
    this.probe = options.probe;
    this.tracker = new FailureTracker({ ...options, monitor: options.name }, clock);
    this.writes =
      options.writeTimeoutMs === false
        ? null
        : new WriteWatch(options.writeTimeoutMs, clock, {
            classify: (error) => this.tracker.classify(error),
            succeeded: () => this.recordSuccess(),
            failed: (error, kind, foundHung) => this.writeFailed(error, kind, foundHung),
            hung: (error, count, beganAt, kept) => {
              const keeping = this.spool === null ? 0 : kept.filter((write) => !write.done).length;
              // Spooled first: the records of the hung writes are kept whatever the outage does next.
              for (const write of kept) this.spool?.hung(write, error);
              this.unkeptFailures += Math.max(0, count - keeping);
              this.failed(error, count, beganAt);
            },
          });
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
          classify: (error) => this.tracker.classify(error),
          counted: (kept) => this.tracker.recordSpooled(kept),
          drained: (recordsReplayed) => this.gaps?.replayFinished(recordsReplayed),
        },
        clock,
        sink,
        ledger,
      );
  }

  /** Records a failed write. Never throws, whatever `error` is. */
  recordFailure(error: unknown): void {
    this.writeFailed(error, this.tracker.classify(error), false);
  }

  /**
   * A write that failed: an outage's failure, or a record refused.
   * @param foundHung Whether a sweep already counted it as hung: then it updates the error, not the count, unless its outage has ended.
   */
  private writeFailed(error: unknown, kind: AuditErrorClass, foundHung: boolean): void {
    if (kind !== 'storage') {
      if (kind === 'record') this.rejected(error);
      return;
    }
    this.metrics?.failure();
    const count = foundHung && this.tracker.state !== 'healthy' ? 0 : 1;
    if (count > 0 && !this.keepingFailure) this.unkeptFailures += 1;
    this.failed(error, count);
  }

  /** A write the storage answered but refused for its record: a lost record, never part of an outage. */
  private rejected(error: unknown): void {
    this.idle = false;
    this.metrics?.rejectedRecord();
    const event = this.tracker.recordRejected(error);
    if (event) this.sink.send(event);
  }

  /** Records a successful write; ends an open outage, or starts the hold before its recovery. */
  recordSuccess(): void {
    // Kept this small so that V8 inlines it into the caller: an idle success then costs a field read.
    if (!this.idle) this.succeeded();
  }

  private succeeded(): void {
    this.metrics?.success();
    const tracker = this.tracker;
    if (tracker.quiet) {
      // Healthy with nothing to count, no probe running.
      this.succeededWhileQuiet();
    } else {
      const before = tracker.state;
      const event = tracker.recordSuccess();
      // Healthy before and after: at most a window counter moved, nothing to tell anyone.
      if (before === 'healthy' && tracker.state === 'healthy') this.succeededWhileQuiet();
      else this.settle(before, event);
    }
    this.idle = this.metrics === null && tracker.quiet && !this.sink.awaitsSuccess;
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
   * spool, `options` changes nothing. The operation gets the record's id
   * ({@link AuditWrite}), so that the write can store it.
   */
  track<T>(
    op: Promise<T> | ((write: AuditWrite) => T | Promise<T>),
    options: AuditTrackOptions,
  ): Promise<T | undefined>;
  track<T>(
    op: Promise<T> | ((write: AuditWrite) => T | Promise<T>),
    options?: AuditTrackOptions,
  ): Promise<T | undefined> {
    const spool = this.spool;
    // Without options, the overload's operation takes no argument.
    if (options === undefined) return this.trackOutcome(op as Promise<T> | (() => T | Promise<T>));
    if (spool === null) return this.trackOutcome(typeof op === 'function' ? () => op(new RecordWrite(options)) : op);
    return new Promise((resolve, reject) => {
      const write = new KeptWrite(options, resolve as (value: unknown) => void, (error: unknown) => {
        // The spool could not keep the record of a storage failure: the outage lost it.
        if (this.tracker.state !== 'healthy' && this.tracker.classify(error) === 'storage') this.unkeptFailures += 1;
        reject(error);
      });
      let pending: T | Promise<T>;
      try {
        pending = typeof op === 'function' ? op(write) : op;
      } catch (error) {
        this.asKept(() => this.recordFailure(error));
        spool.failed(write, error);
        return;
      }
      const settled = pending instanceof Promise ? pending : Promise.resolve(pending);
      const generation = this.writes?.join() ?? null;
      if (generation !== null) (generation.kept ??= []).push(write);
      // One reaction for the outcome and the record together: the spool costs the success path no more.
      settled.then(
        (value) => {
          if (generation === null) this.recordSuccess();
          else generation.onSuccess(value);
          spool.succeeded(write, value);
        },
        (error: unknown) => {
          try {
            this.asKept(() => (generation === null ? this.recordFailure(error) : generation.onFailure(error)));
          } catch {
            // The generation's handler rethrows for track() without a record; here the spool answers.
          }
          spool.failed(write, error);
        },
      );
    });
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
    const generation = writes.join();
    return settled.then(generation.onSuccess, generation.onFailure);
  }

  /**
   * @internal Starts a write whose outcome comes later, through the handle (an
   * Observable's subscription under `@TrackAuditWrite()`): it joins the hang
   * watch now. Settle the handle exactly once.
   */
  beginWrite(): PendingWrite {
    const writes = this.writes;
    if (writes === null) {
      return {
        succeeded: () => this.recordSuccess(),
        failed: (error) => this.recordFailure(error),
        abandoned: () => undefined,
      };
    }
    const generation = writes.join();
    return {
      succeeded: () => void generation.onSuccess(undefined),
      failed: (error) => {
        try {
          generation.onFailure(error);
        } catch {
          // It rethrows for track(); here the caller has the error already.
        }
      },
      abandoned: () => writes.abandon(generation),
    };
  }

  /** Runs `record`, which records the failure of a write whose record the spool takes. */
  private asKept<T>(record: () => T): T {
    this.keepingFailure = true;
    try {
      return record();
    } finally {
      this.keepingFailure = false;
    }
  }

  /**
   * @internal Whether every write that failed in the open outage had its
   * record kept: the spool is keeping records, and no failure of this outage
   * (a write without a record, `recordFailure()`, a record the spool could not
   * take) went by without one. What `@RequireAuditStorage()` needs to stay
   * open while the storage is down. `false` without a spool.
   */
  get keepingRecords(): boolean {
    return this.spool !== null && this.spool.healthy && this.unkeptFailures === 0;
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

  /**
   * @internal Acknowledges the outage whose events carry `outageId`, if it is
   * this monitor's (see `AuditMonitorRegistry.acknowledge()`).
   * @throws whatever kept the sink from storing it.
   */
  acknowledge(outageId: string, by: string, note: string | null): Promise<OutageAcknowledgeResult> {
    const tracker = this.tracker;
    const id = tracker.outageId;
    return this.sink.acknowledge(outageId, by, note, {
      id,
      acknowledge: (who, what) => tracker.acknowledge(id ?? '', who, what),
      snapshot: () => tracker.snapshot(),
    });
  }

  /** @internal Whether `outageId` is an outage of this monitor, open or ended lately. */
  async knowsOutage(outageId: string): Promise<boolean> {
    return this.tracker.knows(outageId) || (await this.sink.knows(outageId));
  }

  /** @internal Starts probing while healthy, where configured; called once the application has started. */
  start(): void {
    this.started = true;
    this.idle = false;
    this.sink.start(() => (this.idle = false));
    this.gaps?.start();
    this.spool?.start();
    this.scheduleProbe();
  }

  /** @internal Stops every timer and probe for good; called at shutdown. */
  close(): void {
    this.closed = true;
    this.sink.close();
    this.disarm('dueTimer');
    this.gaps?.close();
    this.spool?.close();
    this.writes?.close();
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
    this.idle = false;
    const before = this.tracker.state;
    const event = this.tracker.recordFailure(error, count, beganAt);
    this.settle(before, event);
  }

  private settle(before: AuditStorageState, event: AuditOutageEvent | null): void {
    this.idle = false;
    const after = this.tracker.state;
    const ended = before !== 'healthy' && after === 'healthy';
    if (after === 'healthy') this.unkeptFailures = 0;
    if (event !== null || after !== before) {
      const tracker = this.tracker;
      this.sink.transition({
        before,
        after,
        event,
        status: tracker.status(),
        ended: ended ? tracker.ended : null,
        snapshot: () => tracker.snapshot(),
      });
    }
    // Before the replay starts: the gap then waits for the spool to be empty.
    if (event?.type === AuditAlertEvents.StorageRecovered) this.gaps?.recovered(event, this.spool !== null);
    if (ended) this.spool?.outageEnded();
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

  private disarm(timer: 'dueTimer' | 'probeTimer'): void {
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
    const mark = this.probeStarted();
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

  /** A probe run begins: successes count again, so that the writes seen meanwhile outrank its outcome. */
  private probeStarted(): ProbeMark {
    this.idle = false;
    return this.tracker.probeMark();
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

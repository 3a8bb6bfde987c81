import type { Observable } from 'rxjs';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditOutageEvent } from '../events/audit-alert-event.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import type { AuditMonitorMetrics } from '../metrics/audit-monitor-metrics.interface.js';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditGapRecorder } from '../gap/audit-gap.recorder.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import { AuditSpool, RecordWrite } from '../spool/audit-spool.js';
import type { AuditTrackOptions, AuditWrite } from '../spool/spool-options.interface.js';
import type { AuditStorageState, AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import type { AuditErrorClass } from '../tracker/error-class.util.js';
import { AuditStatusPublisher } from './audit-status.publisher.js';
import { FailureTracker } from '../tracker/failure-tracker.js';
import type { OutageSnapshot } from '../tracker/outage-snapshot.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import type { ProbeMark } from '../tracker/probe-weighing.js';
import { DueTimer } from './due-timer.js';
import { StorageProbeScheduler } from './storage-probe.scheduler.js';
import { KeptRecords } from './kept-records.js';
import { type PendingWrite, WriteWatch } from './write-watch.js';

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
  /** The `probe` option's checks; `null` without one. */
  private readonly probe: StorageProbeScheduler | null;
  /** Writes in flight, watched for hangs; `null` with `writeTimeoutMs: false`. */
  private readonly writes: WriteWatch | null;
  /** The one timer for what time alone makes due. */
  private readonly due: DueTimer;
  private started = false;
  private closed = false;
  /**
   * A success now changes nothing and tells no one: no metrics, the tracker quiet,
   * the sink awaiting none. Set by a success that found it so; cleared by anything
   * else that reaches the tracker or the sink, so a success while healthy stays a
   * branch and a return.
   */
  private idle = false;
  /** The records the spool keeps, and the outage's failures it did not keep; `null` without a spool. */
  private readonly records: KeptRecords | null;
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
    clock: AuditAlertClock,
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
    this.due = new DueTimer(clock, () => {
      const before = this.tracker.state;
      this.settle(before, this.tracker.checkDue());
    });
    this.probe =
      options.probe &&
      new StorageProbeScheduler(options.probe, options.name, clock, {
        failing: () => this.tracker.state !== 'healthy',
        started: () => this.started,
        began: () => this.probeStarted(),
        probed: (passed, error, mark) => this.probed(passed, error, mark),
      });
    this.tracker = new FailureTracker({ ...options, monitor: options.name }, clock);
    this.writes =
      options.writeTimeoutMs === false
        ? null
        : new WriteWatch(options.writeTimeoutMs, clock, {
            classify: (error) => this.tracker.classify(error),
            succeeded: () => this.recordSuccess(),
            failed: (error, kind, foundHung) => this.writeFailed(error, kind, foundHung),
            hung: (error, count, beganAt, kept) => {
              // Spooled first: the records of the hung writes are kept whatever the outage does next.
              this.records?.hung(kept, count, error);
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
          counted: (kept) => {
            this.tracker.recordSpooled(kept);
            if (!kept && this.tracker.state !== 'healthy') this.records?.lost();
          },
          drained: (recordsReplayed) => this.gaps?.replayFinished(recordsReplayed),
        },
        clock,
        sink,
        ledger,
      );
    this.records =
      this.spool &&
      new KeptRecords(this.spool, this.writes, {
        recordSuccess: () => this.recordSuccess(),
        recordFailure: (error) => this.recordFailure(error),
      });
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
    this.records?.failed(count);
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
    // Without options, the overload's operation takes no argument.
    if (options === undefined) return this.trackOutcome(op as Promise<T> | (() => T | Promise<T>));
    const records = this.records;
    if (records === null) return this.trackOutcome(typeof op === 'function' ? () => op(new RecordWrite(options)) : op);
    return records.track(op, options);
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
    return writes.begin();
  }

  /**
   * @internal Whether every write that failed in the open outage had its
   * record kept: the spool is keeping records, and no failure of this outage
   * (a write without a record, `recordFailure()`, a record the spool could not
   * take) went by without one. What `@RequireAuditStorage()` needs to stay
   * open while the storage is down. `false` without a spool.
   */
  get keepingRecords(): boolean {
    return this.records?.keepingRecords ?? false;
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
    await probe.runNow();
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
    this.probe?.schedule();
  }

  /** @internal Stops every timer and probe for good; called at shutdown. */
  close(): void {
    this.closed = true;
    this.sink.close();
    this.due.disarm();
    this.gaps?.close();
    this.spool?.close();
    this.writes?.close();
    this.probe?.close();
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
    if (after === 'healthy') this.records?.ended();
    if (event !== null || after !== before) {
      const tracker = this.tracker;
      this.sink.transition({
        before,
        after,
        event,
        status: tracker.status(),
        ended: ended ? tracker.ended.last : null,
        snapshot: () => tracker.snapshot(),
      });
    }
    // Before the replay starts: the gap then waits for the spool to be empty.
    if (event?.type === AuditAlertEvents.StorageRecovered) this.gaps?.recovered(event, this.spool !== null);
    if (ended) this.spool?.outageEnded();
    this.due.arm(this.closed ? null : this.tracker.dueIn());
    if (after === 'healthy') {
      if (this.probe?.whileHealthy === false) this.probe.cancel();
    } else if (before === 'healthy') {
      this.probe?.schedule();
    }
    if (after !== before) this.statusPublisher.publish(() => this.getStatus());
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

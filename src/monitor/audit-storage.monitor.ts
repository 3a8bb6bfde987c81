import { type Observable, Subject } from 'rxjs';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { ResolvedMonitorOptions, ResolvedProbeOptions } from '../audit-alert.options.js';
import type { MonitorAlertCoordination } from '../cluster/monitor-alert.coordinator.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditMonitorMetrics } from '../metrics/audit-monitor-metrics.interface.js';
import type { AuditStorageState, AuditStorageStatus } from './audit-storage-status.interface.js';
import { FailureTracker } from './failure-tracker.js';

/**
 * Watches one audit storage: the application reports each write's outcome
 * (`track()`, or `recordFailure()`/`recordSuccess()`), and the monitor sends
 * `audit.storage.unreachable` when failures last past the threshold and
 * `audit.storage.recovered` when they end. Inject it anywhere; named monitors
 * come from `@InjectAuditMonitor(name)` or `AuditMonitorRegistry`.
 */
export class AuditStorageMonitor {
  /** Emits the status on every change of state (not on every failure). */
  readonly status$: Observable<AuditStorageStatus>;
  /** Name of this monitor, carried in its events. */
  readonly name: string;

  private readonly changes = new Subject<AuditStorageStatus>();
  private readonly tracker: FailureTracker;
  private readonly probe: ResolvedProbeOptions | null;
  private thresholdTimer: AuditAlertTimer | null = null;
  private probeTimer: AuditAlertTimer | null = null;
  private probing = false;
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
    private readonly dispatcher: AuditAlertDispatcher,
    /** Counts outcomes for OpenTelemetry; `null` when metrics are off. */
    private readonly metrics: AuditMonitorMetrics | null = null,
    /** Decides with the other replicas which events this one sends; `null` when it alerts alone. */
    private readonly cluster: MonitorAlertCoordination | null = null,
  ) {
    this.name = options.name;
    this.probe = options.probe;
    this.tracker = new FailureTracker({ ...options, monitor: options.name }, clock);
    this.status$ = this.changes.asObservable();
  }

  /** Records a failed write. Never throws, whatever `error` is. */
  recordFailure(error: unknown): void {
    this.metrics?.failure();
    const before = this.tracker.state;
    const alert = this.tracker.recordFailure(error);
    if (before === 'healthy') {
      this.armThresholdTimer();
      this.scheduleProbe();
    }
    this.settle(before, alert);
  }

  /** Records a successful write; ends an open outage. */
  recordSuccess(): void {
    this.metrics?.success();
    if (this.tracker.state === 'healthy') return;
    const before = this.tracker.state;
    const recovery = this.tracker.recordSuccess();
    this.disarm('thresholdTimer');
    if (!this.probe?.whileHealthy) this.disarm('probeTimer');
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
    const settled = pending instanceof Promise ? pending : Promise.resolve(pending);
    return settled.then(this.onTrackedSuccess, this.onTrackedFailure);
  }

  /** What the monitor knows right now. */
  getStatus(): AuditStorageStatus {
    return this.tracker.status();
  }

  /** @internal Starts probing while healthy, where configured; called once the application has started. */
  start(): void {
    this.started = true;
    this.scheduleProbe();
  }

  /** @internal Stops every timer and probe for good; called at shutdown. */
  close(): void {
    this.closed = true;
    this.disarm('thresholdTimer');
    this.disarm('probeTimer');
    this.changes.complete();
  }

  private settle(before: AuditStorageState, event: AuditAlertEvent | null): void {
    if (this.cluster === null) {
      if (event) this.dispatcher.dispatch(event);
    } else if (event !== null || this.tracker.state !== before) {
      this.cluster.settle(before, this.tracker, event);
    }
    if (this.tracker.state !== before) this.changes.next(this.tracker.status());
  }

  private armThresholdTimer(): void {
    const dueIn = this.tracker.thresholdDueIn();
    if (dueIn === null || this.closed) return;
    this.thresholdTimer = this.clock.setTimer(() => this.onThresholdTimer(), dueIn);
  }

  private onThresholdTimer(): void {
    this.thresholdTimer = null;
    const before = this.tracker.state;
    const alert = this.tracker.checkThreshold();
    this.settle(before, alert);
    // A clock that fires early (or is driven by hand) gets a second chance.
    if (!alert) this.armThresholdTimer();
  }

  private disarm(timer: 'thresholdTimer' | 'probeTimer'): void {
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

  private async runProbe(probe: ResolvedProbeOptions): Promise<void> {
    this.probing = true;
    let timer: AuditAlertTimer | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = this.clock.setTimer(
        () => reject(new Error(`Probe of monitor "${this.name}" did not answer within ${probe.timeoutMs} ms`)),
        probe.timeoutMs,
      );
    });
    try {
      await Promise.race([(async () => probe.check())(), expired]);
      if (!this.closed) this.recordSuccess();
    } catch (error) {
      if (!this.closed) this.recordFailure(error);
    } finally {
      this.clock.clearTimer(timer);
      this.probing = false;
      this.scheduleProbe();
    }
  }
}

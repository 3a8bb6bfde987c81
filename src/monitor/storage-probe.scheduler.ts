import type { ResolvedProbeOptions } from '../audit-alert.options.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { withTimeout } from '../common/timeout.util.js';
import type { ProbeMark } from '../tracker/probe-weighing.js';

/** What the probe asks of its monitor. */
interface StorageProbeHost {
  /** Whether the storage is failing: the probe then runs whatever `whileHealthy` says. */
  failing(): boolean;
  /** Whether the application has started: probes while healthy wait for it. */
  started(): boolean;
  /** A run begins: the mark by which the writes seen meanwhile outrank its outcome. */
  began(): ProbeMark;
  /** A run ended, bounded by the probe's `timeoutMs`: `error` is why it failed. */
  probed(passed: boolean, error: unknown, mark: ProbeMark): void;
}

/**
 * The `probe` of one monitor: one check at a time, every `intervalMs` while
 * the storage fails (and while healthy with `whileHealthy`), or at once when
 * asked; whoever asks while a check runs shares it.
 */
export class StorageProbeScheduler {
  private timer: AuditAlertTimer | null = null;
  /** The run in flight, shared by whoever asks for one meanwhile. */
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly probe: ResolvedProbeOptions,
    private readonly monitor: string,
    private readonly clock: AuditAlertClock,
    private readonly host: StorageProbeHost,
  ) {}

  /** Whether the probe keeps running once the storage is healthy. */
  get whileHealthy(): boolean {
    return this.probe.whileHealthy;
  }

  /** Runs the check now, or joins the run in flight; resolves once its outcome is recorded. */
  runNow(): Promise<void> {
    this.cancel();
    return this.running ?? this.run();
  }

  /** Arms the next check, unless one is armed or running, or none is wanted now. */
  schedule(): void {
    if (this.closed || this.running !== null || this.timer !== null) return;
    if (!this.host.failing() && !(this.probe.whileHealthy && this.host.started())) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.run();
    }, this.probe.intervalMs);
  }

  /** Drops the check armed next; a run in flight goes on. */
  cancel(): void {
    if (this.timer === null) return;
    this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** Stops for good: nothing is armed again, and a run in flight records nothing. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  private run(): Promise<void> {
    const run = this.once().finally(() => {
      this.running = null;
      this.schedule();
    });
    this.running = run;
    return run;
  }

  private async once(): Promise<void> {
    const { probe } = this;
    // Writes outrank probes: what the writes say while the check runs wins over its outcome.
    const mark = this.host.began();
    try {
      await withTimeout(
        () => probe.check(),
        probe.timeoutMs,
        this.clock,
        () => new Error(`Probe of monitor "${this.monitor}" did not answer within ${probe.timeoutMs} ms`),
      );
      if (!this.closed) this.host.probed(true, null, mark);
    } catch (error) {
      if (!this.closed) this.host.probed(false, error, mark);
    }
  }
}

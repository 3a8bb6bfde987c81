import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { RecordsRejectedEvent } from '../events/audit-alert-event.interface.js';
import { wholeMs } from '../events/whole-ms.util.js';

/** What a run of rejections needs of its monitor; times are in milliseconds. */
interface RejectedRunConfig {
  readonly monitor: string;
  readonly serviceName: string;
  /** `false`: rejections are counted but never alerted on. */
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
}

/**
 * The run of rejected records (failures `classify` calls `'record'`), apart
 * from any outage: the storage answered, so it says nothing about the
 * storage, but each one is an audit record lost. A run lasts from the first
 * rejection until none has come for `max(thresholdMs, cooldownMs)`; it raises
 * `audit.records.rejected` on a rejection at least `thresholdMs` after its
 * first, then at most once per `cooldownMs`.
 */
export class RejectedRun {
  /** Records rejected in the current run. */
  count = 0;
  /** The last rejected record's error, as recorded; its text is derived when read. */
  lastError: unknown = null;

  private runId: string | null = null;
  private firstMono = 0;
  private firstWall = 0;
  private lastMono = 0;
  private occurrence = 0;
  private lastAlertMono = 0;

  constructor(
    private readonly config: RejectedRunConfig,
    private readonly clock: Pick<AuditAlertClock, 'monotonicNow' | 'wallNow'>,
    private readonly newRunId: () => string,
  ) {}

  /** Records one rejection; returns the alert it makes due, if any. */
  record(error: unknown): RecordsRejectedEvent | null {
    const mono = this.clock.monotonicNow();
    if (!this.openAt(mono)) {
      this.runId = this.newRunId();
      this.count = 0;
      this.firstMono = mono;
      this.firstWall = this.clock.wallNow();
      this.occurrence = 0;
    }
    this.count += 1;
    this.lastMono = mono;
    this.lastError = error;
    if (!this.config.enabled) return null;
    const due =
      this.occurrence === 0
        ? mono - this.firstMono >= this.config.thresholdMs
        : mono - this.lastAlertMono >= this.config.cooldownMs;
    if (!due) return null;
    this.occurrence += 1;
    this.lastAlertMono = mono;
    return {
      type: AuditAlertEvents.RecordsRejected,
      outageId: this.runId as string,
      monitor: this.config.monitor,
      serviceName: this.config.serviceName,
      firstRejectedAt: new Date(this.firstWall),
      rejectedRecords: this.count,
      rejectedDurationMs: wholeMs(mono - this.firstMono),
      lastError: errorText(error),
      occurrence: this.occurrence,
    };
  }

  /** Whether a run is open at `mono`: a rejection came within `max(thresholdMs, cooldownMs)`. */
  openAt(mono: number): boolean {
    return this.runId !== null && mono - this.lastMono <= Math.max(this.config.thresholdMs, this.config.cooldownMs);
  }
}

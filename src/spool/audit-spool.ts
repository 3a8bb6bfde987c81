import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  spoolRecordRefused,
  spoolReplayStopped,
  spoolReplayTimedOut,
  spoolUnwritable,
  spoolWritable,
} from '../audit-alert.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';
import type { AuditErrorClass } from '../tracker/error-class.util.js';
import { withTimeout } from '../common/timeout.util.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditTrackOptions } from './spool-options.interface.js';
import type { ResolvedSpoolOptions } from './spool.options.js';
import { type SpoolEntry, SpoolLog } from './spool-log.js';

/** What the spool needs of its monitor. */
export interface SpoolHost {
  readonly name: string;
  readonly serviceName: string;
  /** `false`: hung writes are not looked for. */
  readonly writeTimeoutMs: number | false;
  /** The monitor's state now. */
  state(): AuditStorageState;
  /** Runs a replay as a tracked write, so its outcome feeds the monitor. */
  track(op: () => unknown): Promise<unknown>;
  /** What a failed write means, by the monitor's `classify` option. */
  classify(error: unknown): AuditErrorClass;
  /** Counts, in the open outage, a record the spool kept (`true`) or could not keep (`false`). */
  counted(kept: boolean): void;
}

/** A write whose record the spool keeps if the write fails or hangs, until one of them settles it. */
export interface KeptWrite {
  readonly options: AuditTrackOptions;
  /** Settled: its outcome, or its record on disk, has answered `track()`. */
  done: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** How long a replayed record may take when `writeTimeoutMs` is off. */
const DEFAULT_REPLAY_TIMEOUT_MS = 10_000;

/**
 * The alternate audit log of one monitor (AU-5(5)). Off the success path: a
 * write that succeeds costs a promise and an array slot, never a disk access.
 * A write that fails, or hangs past `writeTimeoutMs`, has its record appended
 * and fsync'd before `track()` resolves; after a recovery the records are
 * replayed, oldest first, at a bounded rate.
 * @internal
 */
export class AuditSpool {
  private readonly log: SpoolLog;
  private readonly logger = new AuditAlertLogger();
  private readonly timeoutMs: number | null;
  private opening: Promise<void> | null = null;
  private opened = false;
  private unwritable: { readonly id: string; lost: number } | null = null;
  private replaying = false;
  private replayedSinceEmpty = 0;
  private closed = false;

  constructor(
    private readonly options: ResolvedSpoolOptions,
    private readonly host: SpoolHost,
    private readonly clock: AuditAlertClock,
    private readonly sink: Pick<AlertSink, 'send'>,
  ) {
    this.log = new SpoolLog(join(options.directory, host.name), options.segmentBytes, options.maxBytes);
    this.timeoutMs = host.writeTimeoutMs === false ? null : host.writeTimeoutMs;
  }

  /** Whether records are being kept: the spool is open, and its last write succeeded. */
  get healthy(): boolean {
    return this.opened && this.unwritable === null;
  }

  /** Records spooled and not replayed yet. */
  get pending(): number {
    return this.log.pending;
  }

  /** Opens the spool and replays what a previous run left in it. */
  start(): void {
    void this.ensureOpen().then(
      () => this.resume(),
      () => undefined,
    );
  }

  /** Stops the replay; records being written still are. */
  close(): void {
    this.closed = true;
  }

  /** The write succeeded: `track()` resolves with its value, and its record is not kept. */
  succeeded(write: KeptWrite, value: unknown): void {
    if (write.done) return;
    write.done = true;
    write.resolve(value);
  }

  /** The write failed: its record is kept, unless the storage answered that it refuses it. */
  failed(write: KeptWrite, error: unknown): void {
    if (write.done) return;
    write.done = true;
    // The storage answered: it refused this record (or the error is to be ignored); a replay would fare no better.
    if (this.host.classify(error) !== 'storage') write.reject(error);
    else this.spool(write, error);
  }

  /** The write hangs past `writeTimeoutMs`: its record is kept now, and `track()` answers once it is on disk. */
  hung(write: KeptWrite, error: unknown): void {
    if (write.done) return;
    write.done = true;
    this.spool(write, error);
  }

  /**
   * Called by the monitor when an outage ends, once its transition is handed
   * on: starts the replay. (What the spool kept and lost is counted in the
   * outage as it happens, and carried by its recovery.)
   */
  outageEnded(): void {
    // After the recovery has been settled and dispatched.
    queueMicrotask(() => this.resume());
  }

  private spool(write: KeptWrite, error: unknown): void {
    this.append(write.options).then(
      () => write.resolve(undefined),
      () => write.reject(error),
    );
  }

  private ensureOpen(): Promise<void> {
    this.opening ??= this.log.open().then(
      () => {
        this.opened = true;
      },
      (error: unknown) => {
        // The next record tries again.
        this.opening = null;
        this.reportUnwritable(error, 0);
        throw error;
      },
    );
    return this.opening;
  }

  private async append({ record, id }: AuditTrackOptions): Promise<void> {
    try {
      await this.ensureOpen();
      await this.log.append({
        id: typeof id === 'string' && id !== '' ? id : randomUUID(),
        at: new Date(this.clock.wallNow()).toISOString(),
        record: record ?? null,
      });
    } catch (error) {
      this.host.counted(false);
      this.reportUnwritable(error, 1);
      throw error;
    }
    this.host.counted(true);
    if (this.unwritable !== null) {
      this.unwritable = null;
      this.logger.log(spoolWritable(this.host.name));
    }
  }

  private reportUnwritable(error: unknown, lost: number): void {
    if (this.unwritable !== null) {
      this.unwritable.lost += lost;
      return;
    }
    this.unwritable = { id: randomUUID(), lost };
    const lastError = errorText(error);
    this.logger.error(spoolUnwritable(this.host.name, lastError));
    this.sink.send({
      type: AuditAlertEvents.SpoolUnwritable,
      outageId: this.unwritable.id,
      monitor: this.host.name,
      serviceName: this.host.serviceName,
      lastError,
      recordsLost: lost,
      failedAt: new Date(this.clock.wallNow()),
    });
  }

  /** Replays the spool while the storage is healthy; one replay at a time. */
  private resume(): void {
    if (this.replaying || this.closed || !this.opened || this.log.pending === 0) return;
    if (this.host.state() !== 'healthy') return;
    this.replaying = true;
    void this.replay().finally(() => {
      this.replaying = false;
    });
  }

  private async replay(): Promise<void> {
    const gapMs = 1_000 / this.options.replayPerSecond;
    try {
      while (!this.closed && this.host.state() === 'healthy') {
        const entry = await this.log.next();
        if (entry === null) break;
        // The rate bounds when replays start, whatever each one and its removal take.
        const slot = this.pause(gapMs);
        await this.replayOne(entry);
        await this.log.replayed(entry);
        this.replayedSinceEmpty += 1;
        await slot;
      }
    } catch (error) {
      this.logger.warn(spoolReplayStopped(this.host.name, errorText(error), this.log.pending));
      return;
    }
    if (this.log.pending === 0 && this.replayedSinceEmpty > 0) {
      this.sink.send({
        type: AuditAlertEvents.SpoolReplayed,
        outageId: randomUUID(),
        monitor: this.host.name,
        serviceName: this.host.serviceName,
        recordsReplayed: this.replayedSinceEmpty,
        replayedAt: new Date(this.clock.wallNow()),
      });
      this.replayedSinceEmpty = 0;
    }
  }

  /**
   * One replay through the monitor, abandoned (and left in the spool) when it
   * hangs or the storage fails. A record the storage answers and refuses (by
   * the `classify` option) would be refused forever: it is logged and removed,
   * so it does not hold back the records behind it.
   */
  private async replayOne(entry: SpoolEntry): Promise<void> {
    try {
      await this.replayBounded(entry);
    } catch (error) {
      const kind = this.host.classify(error);
      if (kind === 'storage') throw error;
      if (kind === 'record')
        this.logger.error(spoolRecordRefused(this.host.name, entry.id, entry.seq, errorText(error)));
    }
  }

  private replayBounded(entry: SpoolEntry): Promise<void> {
    const timeoutMs = this.timeoutMs ?? DEFAULT_REPLAY_TIMEOUT_MS;
    const context = { id: entry.id, seq: entry.seq, spooledAt: new Date(entry.at) };
    return withTimeout(
      this.host.track(() => this.options.replay(entry.record, context)),
      timeoutMs,
      this.clock,
      () => new Error(spoolReplayTimedOut(timeoutMs)),
    ).then(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, ms));
  }
}

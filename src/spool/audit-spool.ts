import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { spoolUnwritable, spoolWritable } from './spool.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditTrackOptions, AuditWrite } from './spool-options.interface.js';
import type { ResolvedSpoolOptions } from './spool.options.js';
import type { SpoolHost } from './spool-host.interface.js';
import { SpoolHeadRecorder } from './spool-head-recorder.js';
import { SpoolLog } from './spool-log.js';
import { SpoolReplayer } from './spool-replayer.js';

/** A caller's id the spool keeps: a non-empty string, or a whole number. */
function isCallerId(id: unknown): id is string | number {
  return (typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isSafeInteger(id));
}

/** A write of a record, as its operation sees it: the record's id, made when first asked for. */
export class RecordWrite implements AuditWrite {
  private madeId: string | null = null;

  constructor(readonly options: AuditTrackOptions) {}

  get id(): string | number {
    const { id } = this.options;
    // Made only when asked for: most writes succeed, and their id is never needed.
    return isCallerId(id) ? id : (this.madeId ??= randomUUID());
  }
}

/** A write whose record the spool keeps if the write fails or hangs, until one of them settles it. */
export class KeptWrite extends RecordWrite {
  /** Settled: its outcome, or its record on disk, has answered `track()`. */
  done = false;
  /** Its neighbours among the pending kept writes of its generation (see `keepWrite()`). */
  prevKept: KeptWrite | null = null;
  nextKept: KeptWrite | null = null;

  constructor(
    options: AuditTrackOptions,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super(options);
  }
}

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
  private readonly replayer: SpoolReplayer;
  private readonly logger = new AuditAlertLogger();
  private opening: Promise<void> | null = null;
  private opened = false;
  private unwritable: { readonly id: string; lost: number } | null = null;

  constructor(
    options: ResolvedSpoolOptions,
    private readonly host: SpoolHost,
    private readonly clock: AuditAlertClock,
    private readonly sink: Pick<AlertSink, 'send'>,
    /** Where the spool's head is recorded out of its writer's reach; `null` without the `ledger` option. */
    ledger: AuditLedgerWriter | null = null,
  ) {
    this.log = new SpoolLog(
      join(options.directory, host.name),
      options.segmentBytes,
      options.maxBytes,
      options.hmacKey,
      ledger && new SpoolHeadRecorder(ledger, host.name),
      (count, error) => this.replayer.reportQuarantined(0, count, errorText(error), new Date(this.clock.wallNow())),
    );
    this.replayer = new SpoolReplayer(this.log, options, host, clock, sink, this.logger, {
      opened: () => this.opened,
      open: () => this.ensureOpen(),
    });
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
      () => this.replayer.resume(),
      () => this.replayer.retryLater(),
    );
  }

  /** Stops the replay, and lets the directory go; records being written still are. */
  close(): void {
    this.replayer.close();
    if (this.opened) this.log.close();
  }

  /** The write succeeded: `track()` resolves with its value, and its record is not kept. */
  succeeded(write: KeptWrite, value: unknown): void {
    if (write.done) return;
    write.done = true;
    this.replayer.tookRecord();
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
    queueMicrotask(() => this.replayer.resume());
  }

  private spool(write: KeptWrite, error: unknown): void {
    this.append(write).then(
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

  private async append(write: KeptWrite): Promise<void> {
    try {
      await this.ensureOpen();
      await this.log.append({
        id: write.id,
        at: new Date(this.clock.wallNow()).toISOString(),
        record: write.options.record ?? null,
      });
    } catch (error) {
      this.host.counted(false);
      this.reportUnwritable(error, 1);
      throw error;
    }
    this.host.counted(true);
    // Kept after its outage ended (a write that failed just before the recovery): replayed now, not at the next recovery.
    if (this.host.state() === 'healthy') this.replayer.resume();
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
}

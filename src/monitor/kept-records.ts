import type { AuditSpool } from '../spool/audit-spool.js';
import { KeptWrite } from '../spool/audit-spool.js';
import type { AuditTrackOptions, AuditWrite } from '../spool/spool-options.interface.js';
import { keepWrite, releaseWrite, type WriteWatch } from './write-watch.js';

/** What keeping the records asks of its monitor. */
interface KeptRecordsHost {
  recordSuccess(): void;
  recordFailure(error: unknown): void;
}

/**
 * The records of `track(op, { record })` under a `spool` (AU-5(5)): each
 * write's record goes to the spool if the write fails or hangs, and the open
 * outage's storage failures whose record no spool took are counted, so that
 * `@RequireAuditStorage()` knows whether the records of the outage are kept.
 */
export class KeptRecords {
  /**
   * Storage failures of the open outage whose record the spool was not handed
   * or could not keep (`recordFailure()`, `track(op)` without a record, a hung
   * write without one); `0` while healthy.
   */
  private unkept = 0;
  /** Set while a failure being recorded is that of a write whose record the spool takes. */
  private keeping = false;

  constructor(
    private readonly spool: AuditSpool,
    /** The monitor's hang watch; `null` with `writeTimeoutMs: false`. */
    private readonly writes: WriteWatch | null,
    private readonly host: KeptRecordsHost,
  ) {}

  /** Whether every storage failure of the open outage had its record kept, and the spool keeps records still. */
  get keepingRecords(): boolean {
    return this.spool.healthy && this.unkept === 0;
  }

  /** `count` writes failed in the outage: unkept, unless being recorded as the failure of a write whose record the spool takes. */
  failed(count: number): void {
    if (count > 0 && !this.keeping) this.unkept += 1;
  }

  /** A sweep found `count` writes hung: the records among them are kept now; the others are unkept failures. */
  hung(kept: readonly KeptWrite[], count: number, error: unknown): void {
    const keeping = kept.filter((write) => !write.done).length;
    for (const write of kept) this.spool.hung(write, error);
    this.unkept += Math.max(0, count - keeping);
  }

  /** The spool could not keep the record of a storage failure of the open outage: the outage lost it. */
  lost(): void {
    this.unkept += 1;
  }

  /** The outage ended: its count starts over with the next. */
  ended(): void {
    this.unkept = 0;
  }

  /** `track(op, { record })`: see `AuditStorageMonitor.track()`. */
  track<T>(
    op: Promise<T> | ((write: AuditWrite) => T | Promise<T>),
    options: AuditTrackOptions,
  ): Promise<T | undefined> {
    const spool = this.spool;
    return new Promise((resolve, reject) => {
      const write = new KeptWrite(options, resolve as (value: unknown) => void, reject);
      let pending: T | Promise<T>;
      try {
        pending = typeof op === 'function' ? op(write) : op;
      } catch (error) {
        this.asKept(() => this.host.recordFailure(error));
        spool.failed(write, error);
        return;
      }
      const settled = pending instanceof Promise ? pending : Promise.resolve(pending);
      const generation = this.writes?.join() ?? null;
      if (generation !== null) keepWrite(generation, write);
      // One reaction for the outcome and the record together: the spool costs the success path no more.
      settled.then(
        (value) => {
          if (generation === null) this.host.recordSuccess();
          else {
            releaseWrite(generation, write);
            generation.onSuccess(value);
          }
          spool.succeeded(write, value);
        },
        (error: unknown) => {
          if (generation !== null) releaseWrite(generation, write);
          try {
            this.asKept(() => (generation === null ? this.host.recordFailure(error) : generation.onFailure(error)));
          } catch {
            // The generation's handler rethrows for track() without a record; here the spool answers.
          }
          spool.failed(write, error);
        },
      );
    });
  }

  /** Runs `record`, which records the failure of a write whose record the spool takes. */
  private asKept<T>(record: () => T): T {
    this.keeping = true;
    try {
      return record();
    } finally {
      this.keeping = false;
    }
  }
}

import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { AuditWriteTimeoutError } from '../errors/audit-write-timeout.error.js';
import type { KeptWrite } from '../spool/audit-spool.js';
import type { AuditErrorClass } from '../tracker/error-class.util.js';
import { PendingWrites, type WriteGeneration } from '../tracker/pending-writes.js';

/** A generation of tracked writes with the settle handlers all its writes share. */
interface WatchedGeneration extends WriteGeneration {
  readonly onSuccess: <T>(value: T) => T;
  readonly onFailure: (error: unknown) => never;
  /**
   * The newest of its pending writes whose records the spool keeps if they
   * hang, linked through `KeptWrite.nextKept` (see {@link keepWrite}): a write joins and leaves the
   * list without allocating, so the success path of `track(op, { record })`
   * costs no array.
   */
  kept: KeptWrite | null;
}

/** Puts a joined write whose record the spool keeps if it hangs in its generation's list. */
export function keepWrite(generation: WatchedGeneration, write: KeptWrite): void {
  const newest = generation.kept;
  write.nextKept = newest;
  if (newest !== null) newest.prevKept = write;
  generation.kept = write;
}

/** Takes a kept write out of its generation's list once it has settled. */
export function releaseWrite(generation: WatchedGeneration, write: KeptWrite): void {
  const { prevKept, nextKept } = write;
  if (prevKept === null) {
    if (generation.kept === write) generation.kept = nextKept;
  } else prevKept.nextKept = nextKept;
  if (nextKept !== null) nextKept.prevKept = prevKept;
  write.prevKept = null;
  write.nextKept = null;
}

/** A write begun with `AuditStorageMonitor.beginWrite()`, settled once by one of these. */
export interface PendingWrite {
  succeeded(): void;
  failed(error: unknown): void;
  /** Its caller gave up on it before it answered: nothing is recorded. */
  abandoned(): void;
}

/** What the watch tells its monitor. */
interface WriteWatchHost {
  /** What a failed write means, by the `classify` option. */
  classify(error: unknown): AuditErrorClass;
  /** A write succeeded. */
  succeeded(): void;
  /**
   * A write failed.
   * @param foundHung Whether a sweep already counted it as hung.
   */
  failed(error: unknown, kind: AuditErrorClass, foundHung: boolean): void;
  /** A sweep found `count` writes pending past the limit, failing since `beganAt` (monotonic). */
  hung(error: AuditWriteTimeoutError, count: number, beganAt: number, kept: readonly KeptWrite[]): void;
}

/**
 * The writes a monitor has in flight, watched for hangs past `writeTimeoutMs`
 * with the one hang sweep: no clock read and no timer per write (a write joins
 * the generation open since the last sweep), one sweep timer per monitor while
 * some write is pending. The spool's records ride along, so the same sweep
 * spools the writes it finds hung.
 */
export class WriteWatch {
  private readonly writes: PendingWrites<WatchedGeneration>;
  private sweepTimer: AuditAlertTimer | null = null;
  private closed = false;

  constructor(
    timeoutMs: number,
    private readonly clock: AuditAlertClock,
    private readonly host: WriteWatchHost,
  ) {
    this.writes = new PendingWrites(timeoutMs, clock, (openedAt) => this.generation(openedAt));
  }

  /** Writes still pending, hung or not. */
  get pendingCount(): number {
    return this.writes.pendingCount;
  }

  /** Counts a write as started; settle it through the generation's handlers. */
  join(): WatchedGeneration {
    let generation = this.writes.current;
    if (generation === null) {
      generation = this.writes.open();
      if (this.sweepTimer === null && !this.closed) this.armSweep();
    }
    generation.pending += 1;
    return generation;
  }

  /** Starts a write whose outcome comes later, through the handle it returns; settle it exactly once. */
  begin(): PendingWrite {
    const generation = this.join();
    return {
      succeeded: () => void generation.onSuccess(undefined),
      failed: (error) => {
        try {
          generation.onFailure(error);
        } catch {
          // It rethrows for track(); here the caller has the error already.
        }
      },
      abandoned: () => this.abandon(generation),
    };
  }

  /**
   * A write of `generation` that will never settle (its caller gave up on it,
   * as an Observable unsubscribed before it answered): it leaves the watch,
   * and nothing is recorded. Had a sweep found it hung, that failure stands.
   */
  private abandon(generation: WatchedGeneration): void {
    this.writes.settled(generation, false);
  }

  /** Stops the sweeps for good. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== null) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = null;
  }

  private generation(openedAt: number): WatchedGeneration {
    const generation: WatchedGeneration = {
      openedAt,
      closedAt: Number.POSITIVE_INFINITY,
      pending: 0,
      hung: false,
      kept: null,
      onSuccess: <T>(value: T): T => {
        this.writes.settled(generation, true);
        this.host.succeeded();
        return value;
      },
      onFailure: (error: unknown): never => {
        const kind = this.host.classify(error);
        const foundHung = generation.hung;
        // A refusal means the storage answered: for the hang watch that write settled as a success would.
        this.writes.settled(generation, kind !== 'storage');
        this.host.failed(error, kind, foundHung);
        throw error;
      },
    };
    return generation;
  }

  private armSweep(): void {
    const writes = this.writes;
    this.sweepTimer = this.clock.setTimer(() => {
      this.sweepTimer = null;
      if (this.closed) return;
      const hung = writes.sweep();
      if (hung !== null) {
        const kept: KeptWrite[] = [];
        for (const generation of hung.generations) {
          const newestFirst: KeptWrite[] = [];
          for (let write = generation.kept; write !== null; write = write.nextKept) newestFirst.push(write);
          // Spooled in the order they started, as the replay will write them.
          kept.push(...newestFirst.reverse());
        }
        this.host.hung(new AuditWriteTimeoutError(writes.timeoutMs, hung.count), hung.count, hung.beganAt, kept);
      }
      // One timer per monitor, and only while some write is pending and not yet found hung.
      if (writes.watching && this.sweepTimer === null && !this.closed) this.armSweep();
    }, writes.sweepEveryMs);
  }
}

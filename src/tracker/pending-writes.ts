import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';

/**
 * The writes `track()` started between two sweeps, counted together so that
 * starting a write reads no clock and arms no timer.
 */
export interface WriteGeneration {
  /** Monotonic time the generation's first write started. */
  readonly openedAt: number;
  /** Monotonic time of the sweep that closed it: no write of it started later. */
  closedAt: number;
  /** Its writes not settled yet. */
  pending: number;
  /** Its pending writes have been counted as failures. */
  hung: boolean;
}

/** Writes found pending past the limit by one sweep. */
interface HungWrites<G extends WriteGeneration = WriteGeneration> {
  /** How many; each counts as one failure. */
  readonly count: number;
  /** The generations they belong to, each found hung once, for an owner that acts on the writes themselves. */
  readonly generations: readonly G[];
  /**
   * When the failure began (monotonic): the start of the oldest of them, but
   * never before the storage last answered. A write that succeeds is seen by
   * the next sweep, so the failure begins no earlier than the first sweep
   * after the last success: the storage answered then, and a write still
   * stuck from before it (a straggler of a freeze that has ended, an isolated
   * slow write) says nothing about the time before that answer.
   */
  readonly beganAt: number;
}

/** Sweeps per `writeTimeoutMs`: a stuck write is found between 1 and 1.25 times the limit after it started. */
const SWEEPS_PER_TIMEOUT = 8;

/**
 * The ledger of writes in flight behind hung-write detection, the one both
 * the monitor (a hung write is a failure) and the spool (a hung write's
 * record is kept) sweep: pure, free of timers. A write is found hung no
 * earlier than `timeoutMs` after it started. Its owner calls {@link PendingWrites.sweep} every
 * {@link PendingWrites.sweepEveryMs} while {@link PendingWrites.watching};
 * memory grows with the number of sweeps during which writes started and
 * stayed pending, never with the number of writes.
 */
export class PendingWrites<G extends WriteGeneration> {
  /** The open generation; `null` after a sweep until the next write starts. Read on every `track()`. */
  current: G | null = null;
  /** How often to sweep while {@link watching}. */
  readonly sweepEveryMs: number;

  /** Generations not found hung yet, oldest first; some may have settled since the last sweep. */
  private watched: G[] = [];
  /** A write has succeeded (the storage answered) since the last sweep; set without reading the clock. */
  private answered = false;
  /** The first sweep after the last success seen: no hung write's failure is dated before it. */
  private answeredBy = Number.NEGATIVE_INFINITY;
  /** Writes of generations found hung that have not settled yet. */
  private hungPending = 0;

  /**
   * @param timeoutMs `writeTimeoutMs`: how long a write may stay pending.
   * @param create Makes a generation object (the owner attaches its settle handlers to it).
   */
  constructor(
    readonly timeoutMs: number,
    private readonly clock: Pick<AuditAlertClock, 'monotonicNow'>,
    private readonly create: (openedAt: number) => G,
  ) {
    this.sweepEveryMs = Math.max(1, Math.ceil(timeoutMs / SWEEPS_PER_TIMEOUT));
  }

  /** Whether some write is pending and not yet found hung: the owner keeps sweeping while it is. */
  get watching(): boolean {
    return this.watched.length > 0;
  }

  /** Writes still pending, hung or not. */
  get pendingCount(): number {
    let count = 0;
    for (const generation of this.watched) count += generation.pending;
    return count + this.hungPending;
  }

  /** Opens the generation new writes join until the next sweep. */
  open(): G {
    const generation = this.create(this.clock.monotonicNow());
    this.current = generation;
    this.watched.push(generation);
    return generation;
  }

  /** Records that one write of `generation` has settled. */
  settled(generation: G, succeeded: boolean): void {
    generation.pending -= 1;
    if (generation.hung) this.hungPending -= 1;
    if (succeeded) this.answered = true;
  }

  /**
   * Closes the open generation and returns the writes now pending past the
   * limit, counted once each, or `null` when there are none.
   */
  sweep(): HungWrites<G> | null {
    const now = this.clock.monotonicNow();
    if (this.answered) {
      // The success came between the last sweep and this one: it is no later than now.
      this.answered = false;
      this.answeredBy = now;
    }
    if (this.current !== null) {
      this.current.closedAt = now;
      this.current = null;
    }
    let count = 0;
    let oldest = Number.POSITIVE_INFINITY;
    const hung: G[] = [];
    const stillWatched: G[] = [];
    for (const generation of this.watched) {
      if (generation.pending === 0) continue;
      // Measured from the close, the latest a write of the generation can have started: never early.
      if (now - generation.closedAt >= this.timeoutMs) {
        generation.hung = true;
        this.hungPending += generation.pending;
        count += generation.pending;
        hung.push(generation);
        oldest = Math.min(oldest, generation.openedAt);
      } else {
        stillWatched.push(generation);
      }
    }
    this.watched = stillWatched;
    if (count === 0) return null;
    return { count, generations: hung, beganAt: Math.max(oldest, this.answeredBy) };
  }
}

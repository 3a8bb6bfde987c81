import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';

/** Partial-failure detection over a sliding window of writes. */
export interface DegradedDetection {
  /** Share of the window's writes that must have failed, in (0, 1]. */
  readonly ratio: number;
  /** Length of the sliding window, in milliseconds. */
  readonly windowMs: number;
  /** Fewer writes than this in the window say nothing about a ratio. */
  readonly minWrites: number;
}

/** The window is counted in this many buckets: memory is fixed, whatever the write rate. */
const WINDOW_BUCKETS = 10;

/** A degraded period ends once the ratio has stayed below this share of `ratio` for a window (hysteresis). */
const CLEAR_RATIO_SHARE = 0.5;

/**
 * The sliding window of writes behind degraded detection: it counts from a
 * failure until a whole window holds none, in fixed buckets, and tells when
 * the failure ratio has reached `ratio` and, while degraded, since when it has
 * stayed below the clearing bound. Times are monotonic milliseconds.
 */
export class FailureWindow {
  /** Counting: from a failure until a whole window holds none. Read by the tracker's hot path. */
  active = false;
  /** Writes and failures in the window. */
  writes = 0;
  failures = 0;
  /** While degraded: since when the ratio has been below the clearing bound (monotonic, then wall-clock), or `null`. */
  clearSinceMono: number | null = null;
  clearSinceWall = 0;

  private sinceMono = 0;
  private bucketIndex = 0;
  private readonly bucketWrites: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);
  private readonly bucketFailures: number[] = new Array<number>(WINDOW_BUCKETS).fill(0);
  private readonly bucketMs: number;

  constructor(
    private readonly detection: DegradedDetection,
    private readonly clock: Pick<AuditAlertClock, 'wallNow'>,
  ) {
    this.bucketMs = detection.windowMs / WINDOW_BUCKETS;
  }

  /** Length of the window, in milliseconds. */
  get windowMs(): number {
    return this.detection.windowMs;
  }

  /** Share of the window's writes that failed, or `null` while not counting or empty. */
  get ratio(): number | null {
    return this.active && this.writes > 0 ? this.failures / this.writes : null;
  }

  /** Counts writes, opening the window at a failure. */
  count(mono: number, writes: number, failures: number): void {
    if (!this.active) {
      if (failures === 0) return;
      this.open(mono);
    } else {
      this.rotate(mono);
    }
    const slot = this.bucketIndex % WINDOW_BUCKETS;
    this.bucketWrites[slot]! += writes;
    this.bucketFailures[slot]! += failures;
    this.writes += writes;
    this.failures += failures;
  }

  /** Starts counting afresh at `mono`. */
  open(mono: number): void {
    this.active = true;
    this.sinceMono = mono;
    this.bucketIndex = Math.floor(mono / this.bucketMs);
    this.bucketWrites.fill(0);
    this.bucketFailures.fill(0);
    this.writes = 0;
    this.failures = 0;
  }

  /** Drops the buckets that have left the window. */
  rotate(mono: number): void {
    const index = Math.floor(mono / this.bucketMs);
    const steps = Math.min(index - this.bucketIndex, WINDOW_BUCKETS);
    for (let step = 1; step <= steps; step += 1) {
      const slot = (this.bucketIndex + step) % WINDOW_BUCKETS;
      this.writes -= this.bucketWrites[slot]!;
      this.failures -= this.bucketFailures[slot]!;
      this.bucketWrites[slot] = 0;
      this.bucketFailures[slot] = 0;
    }
    if (index > this.bucketIndex) this.bucketIndex = index;
  }

  /** Stops counting once the window holds no failure, so that a healthy success costs nothing again. */
  settle(mono: number): void {
    if (!this.active) return;
    this.rotate(mono);
    if (this.failures === 0) this.active = false;
  }

  /**
   * Whether the window shows a partial failure: it has been counting for a
   * whole window (so it holds every write of the last `windowMs`), holds
   * enough writes, and enough of them failed.
   */
  reached(mono: number): boolean {
    const { windowMs, minWrites, ratio } = this.detection;
    if (!this.active || mono - this.sinceMono < windowMs) return false;
    return this.writes >= minWrites && this.failures >= ratio * this.writes;
  }

  /**
   * Start of the oldest bucket holding a failure (to a tenth of the window),
   * never before the window opened; `null` when none holds one.
   */
  oldestFailureAt(): number | null {
    for (let age = WINDOW_BUCKETS - 1; age >= 0; age -= 1) {
      const index = this.bucketIndex - age;
      if (this.bucketFailures[index % WINDOW_BUCKETS]! !== 0) return Math.max(index * this.bucketMs, this.sinceMono);
    }
    return null;
  }

  /** While degraded, brings the window to `mono`, then starts or stops the clock of the hysteresis. */
  weigh(mono: number): void {
    this.rotate(mono);
    const bound = this.detection.ratio * CLEAR_RATIO_SHARE;
    const below = this.failures < bound * this.writes || this.writes === 0;
    if (!below) this.clearSinceMono = null;
    else if (this.clearSinceMono === null) {
      this.clearSinceMono = mono;
      this.clearSinceWall = this.clock.wallNow();
    }
  }

  /** When the ratio will have stayed below the clearing bound for a whole window, or `null` while it is not below. */
  get clearAt(): number | null {
    return this.clearSinceMono === null ? null : this.clearSinceMono + this.detection.windowMs;
  }

  /** Whether the ratio has stayed below the clearing bound for a whole window by `mono`. */
  clearedBy(mono: number): boolean {
    const at = this.clearAt;
    return at !== null && mono >= at;
  }
}

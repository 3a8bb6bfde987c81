import { errorText } from '../common/error-text.util.js';
import type { OutageAcknowledgement, OutageAcknowledgeResult } from './outage-acknowledgement.js';

/**
 * The record of one open outage, as its alerts, statuses and snapshot report
 * it: plain fields the {@link FailureTracker} moves, so that it can be
 * snapshotted. Times ending in `Mono` are monotonic, `Wall` wall-clock, in
 * milliseconds.
 */
export class Outage {
  lastFailureMono = 0;
  /** Write failures of the outage (`writesFailed`). */
  failures = 0;
  /** Records of its failed writes the spool kept (`recordsSpooled`). */
  recordsSpooled = 0;
  /** Records of its failed writes the spool could not keep (`recordsLost`). */
  recordsLost = 0;
  /** Probe failures that counted in the outage. */
  probeFailures = 0;

  // The streak: failures (of writes or probes) with no success since `streakStartMono`.
  streakOpen = false;
  streakStartMono = 0;
  /** Write failures of the streak (`consecutiveFailures`). */
  consecutive = 0;

  // Its alerts.
  unreachableOccurrence = 0;
  lastUnreachableMono = 0;
  degradedOccurrence = 0;
  lastDegradedMono = 0;
  lastAlertWall: number | null = null;
  /** Once someone has answered it: no repeat is raised from then on. */
  acknowledged: OutageAcknowledgement | null = null;
  /** The success that began the current recovery hold, or the end of the degraded period. */
  recoveredMono = 0;
  recoveredWall = 0;

  /** The last failed write and probe as recorded: their texts are derived on demand. */
  hasWriteError = false;
  lastErrorValue: unknown = null;
  hasProbeError = false;
  lastProbeErrorValue: unknown = null;
  /** The last text derived, and of what: derived once however many statuses and alerts carry it. */
  private derivedText: { readonly of: unknown; readonly text: string } | null = null;

  /**
   * @param id The `outageId` every event of the outage carries.
   * @param firstFailureMono When its first failure began (monotonic).
   * @param firstFailureWall The same, wall-clock.
   */
  constructor(
    readonly id: string,
    public firstFailureMono: number,
    public firstFailureWall: number,
  ) {}

  /** Moves the start back to `began`, when earlier: an older stuck write, or failures the window held. */
  startNoLaterThan(began: number): void {
    if (began < this.firstFailureMono) {
      this.firstFailureWall -= this.firstFailureMono - began;
      this.firstFailureMono = began;
    }
  }

  /**
   * Widens the outage to failures counted before it opened, as a window holds them.
   * @param oldestAt When the oldest of them began (monotonic), if known.
   */
  spanFailures(oldestAt: number | null, failures: number): void {
    if (oldestAt !== null) this.startNoLaterThan(oldestAt);
    this.failures = Math.max(this.failures, failures);
  }

  /** Marks the start of a recovery hold, or the end of a degraded period, at `mono` and `wall`. */
  recoveredAt(mono: number, wall: number): void {
    this.recoveredMono = mono;
    this.recoveredWall = wall;
  }

  /** Opens the streak at `began`, or moves an open one back to it. */
  streakFrom(began: number): void {
    if (!this.streakOpen) {
      this.streakOpen = true;
      this.streakStartMono = began;
      this.consecutive = 0;
    } else if (began < this.streakStartMono) {
      this.streakStartMono = began;
    }
  }

  /** Records an alert of the outage raised at `mono` (monotonic) and `wall` (wall-clock). */
  alerted(kind: 'unreachable' | 'degraded', mono: number, wall: number): void {
    if (kind === 'unreachable') {
      this.lastUnreachableMono = mono;
      this.unreachableOccurrence += 1;
    } else {
      this.lastDegradedMono = mono;
      this.degradedOccurrence += 1;
    }
    this.lastAlertWall = wall;
  }

  /** Acknowledges the outage at `at` (wall-clock), unless it was never alerted on; the first acknowledgement stands. */
  acknowledge(by: string, note: string | null, at: number): OutageAcknowledgeResult {
    if (this.unreachableOccurrence === 0 && this.degradedOccurrence === 0) return { result: 'not-alerted' };
    const firstFailureAt = Math.round(this.firstFailureWall);
    if (this.acknowledged !== null) return { result: 'already', acknowledgement: this.acknowledged, firstFailureAt };
    this.acknowledged = { by, note, at };
    return { result: 'acknowledged', acknowledgement: this.acknowledged, firstFailureAt };
  }

  /** The last failed write's text, or the probe's when no write has failed in the outage. */
  lastError(): string {
    return this.textOf(this.hasWriteError ? this.lastErrorValue : this.lastProbeErrorValue);
  }

  /** The text of `error`, derived once however many statuses and alerts carry it. */
  textOf(error: unknown): string {
    if (this.derivedText === null || this.derivedText.of !== error) {
      this.derivedText = { of: error, text: errorText(error) };
    }
    return this.derivedText.text;
  }
}

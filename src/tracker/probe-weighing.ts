/** What a probe saw of the writes when it started, to tell whether they have spoken since. */
export interface ProbeMark {
  readonly writeSuccesses: number;
  readonly writeFailures: number;
}

/**
 * Writes outrank probes: what the writes said while a probe ran, and since
 * the previous check, decides whether the probe's outcome counts. A failing
 * probe counts only when no write has succeeded since it started; a passing
 * one only when no write has failed since the previous probe check ended
 * (since this was made, for the first) nor while it ran, so a probe can never
 * cut short a run of failures the writes keep extending, and when no write
 * comes, the probe speaks.
 */
export class ProbeWeighing {
  /** Write successes recorded while a probe could be weighed against them. */
  writeSuccesses = 0;
  /** Every write failure ever recorded. */
  writeFailures = 0;
  /** Probes started and not yet recorded. */
  running = 0;
  /** {@link writeFailures} when the last probe check was recorded. */
  private failuresAtLastCheck = 0;

  /** A probe starts now: what it must remember. */
  mark(): ProbeMark {
    this.running += 1;
    return { writeSuccesses: this.writeSuccesses, writeFailures: this.writeFailures };
  }

  /** The probe started at `mark` failed: whether that counts. */
  failureCounts(mark: ProbeMark): boolean {
    this.ended();
    return this.writeSuccesses === mark.writeSuccesses;
  }

  /** The probe started at `mark` passed: whether that counts. */
  successCounts(mark: ProbeMark): boolean {
    const writesSilent = this.writeFailures === mark.writeFailures && this.writeFailures === this.failuresAtLastCheck;
    this.ended();
    return writesSilent;
  }

  private ended(): void {
    this.running -= 1;
    this.failuresAtLastCheck = this.writeFailures;
  }
}

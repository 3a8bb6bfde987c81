import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  spoolEveryRecordRefused,
  spoolQuarantined,
  spoolRecordRefused,
  spoolReplayStopped,
  spoolReplayTimedOut,
} from './spool.messages.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { AlertSink } from '../sink/alert-sink.interface.js';
import { withTimeout } from '../common/timeout.util.js';
import { errorText } from '../common/error-text.util.js';
import type { ResolvedSpoolOptions } from './spool.options.js';
import type { SpoolEntry } from './spool-chain.js';
import type { SpoolHost } from './spool-host.interface.js';
import type { SpoolLog } from './spool-log.js';
import { quarantine, QUARANTINE_FILE, type QuarantinedLine } from './spool-quarantine.js';

/** How long a replayed record may take when `writeTimeoutMs` is off. */
const DEFAULT_REPLAY_TIMEOUT_MS = 10_000;
/** A replay that timed out is given twice as long next time, up to this many times the first limit. */
const MAX_TIMEOUT_GROWTH = 8;
/** A replay stopped while healthy is tried again after this, doubling up to the last. */
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 60_000;
/** Records tried after one the storage refused, to tell a refused record from a refusing storage. */
const LOOKAHEAD = 3;

/** A replay that did not succeed. */
interface Failure {
  readonly ok: false;
  readonly error: unknown;
  readonly timedOut: boolean;
}

/** How the replayer opens the spool it replays: the spool that keeps the records opens it. */
interface SpoolOpener {
  /** Whether the spool's files are open. */
  opened(): boolean;
  /** Opens them; rejects when they cannot be (a full disk, a directory held by another process). */
  open(): Promise<void>;
}

/**
 * The replay of one monitor's spool: after a recovery, or at start, the
 * records are replayed oldest first, each verified against the chain, at
 * `replayPerSecond`, each bounded in time; lines damaged or refused are set
 * aside in the quarantine file and reported.
 * @internal
 */
export class SpoolReplayer {
  private readonly baseTimeoutMs: number;
  /** How long one replay may take: grows after a timeout, so a slow storage still drains. */
  private timeoutMs: number;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: AuditAlertTimer | null = null;
  /** Records the storage took (written by the application, or replayed): evidence that it takes records. */
  private accepted = 0;
  /** The record the replay last stopped on, refused, and how many records the storage had taken by then. */
  private lastRefusal: { readonly seq: number; readonly accepted: number } | null = null;
  /** Why the replay is stalled, once said in the log; `null` while it moves. */
  private stall: 'refused' | null = null;
  private replaying = false;
  private replayedSinceEmpty = 0;
  private closed = false;

  constructor(
    private readonly log: SpoolLog,
    private readonly options: ResolvedSpoolOptions,
    private readonly host: SpoolHost,
    private readonly clock: AuditAlertClock,
    private readonly sink: Pick<AlertSink, 'send'>,
    private readonly logger: AuditAlertLogger,
    private readonly opener: SpoolOpener,
  ) {
    this.baseTimeoutMs = host.writeTimeoutMs === false ? DEFAULT_REPLAY_TIMEOUT_MS : host.writeTimeoutMs;
    this.timeoutMs = this.baseTimeoutMs;
  }

  /** Stops the replay for good: no retry is left waiting, and a replay under way ends after its current record. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }

  /** The storage took a record the application wrote. */
  tookRecord(): void {
    this.accepted += 1;
  }

  /** Replays the spool while the storage is healthy, at once: after a recovery, or at start. */
  resume(): void {
    this.retryMs = FIRST_RETRY_MS;
    this.kick();
  }

  /** Starts the replay if there is something to replay and the storage is healthy; one replay at a time. */
  private kick(): void {
    if (this.replaying || this.closed) return;
    if (!this.opener.opened()) {
      // A spool that could not open (a full disk, a directory held by another process) is tried again.
      void this.opener.open().then(
        () => this.kick(),
        () => this.retryLater(),
      );
      return;
    }
    if (this.log.pending === 0) {
      this.host.drained(0);
      return;
    }
    if (this.host.state() !== 'healthy') return;
    if (this.retryTimer !== null) {
      this.clock.clearTimer(this.retryTimer);
      this.retryTimer = null;
    }
    this.replaying = true;
    void this.replay().finally(() => {
      this.replaying = false;
      this.log.replayStopped();
    });
  }

  /**
   * A replay stopped while the storage is healthy (every record refused, a
   * replay too slow) is tried again later, backing off, without waiting for a
   * recovery that may never come: pending records drain while healthy.
   */
  retryLater(): void {
    if (this.closed || this.retryTimer !== null || (this.opener.opened() && this.log.pending === 0)) return;
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = null;
      this.kick();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
  }

  /**
   * Replays the records oldest first, each one verified against the hash chain
   * first. Replays stay out of the monitor's outage accounting: a record the
   * storage refuses opens no outage (the application's own writes and the probe
   * say whether the storage works), and it is set aside only once the storage
   * has taken a record after it.
   */
  private async replay(): Promise<void> {
    const gapMs = 1_000 / this.options.replayPerSecond;
    try {
      while (!this.closed && this.host.state() === 'healthy') {
        const step = await this.log.next();
        if (step === null) break;
        if (step.kind === 'damaged') {
          await this.setAside(step.lines, step.reason, step.missing, step.through);
          continue;
        }
        // The rate bounds when replays start, whatever each one and its removal take.
        const slot = this.pause(gapMs);
        const outcome = await this.attempt(step.entry);
        // Closed meanwhile: the spool's files are no longer this replay's (a record replayed is replayed again, under its id).
        if (this.closed) return;
        if (outcome.ok) {
          await this.log.replayed(step);
          this.progressed(1);
          await slot;
          continue;
        }
        if (outcome.timedOut || !(await this.refusedAlone(step, outcome))) return this.stopped(outcome);
        await slot;
      }
    } catch (error) {
      // Closed meanwhile (the application stopping): the files may be gone, and no retry follows to announce.
      if (this.closed) return;
      this.logger.warn(spoolReplayStopped(this.host.name, errorText(error), this.log.pending, this.retryMs));
      this.retryLater();
      return;
    }
    if (this.log.pending !== 0) return;
    const replayed = this.replayedSinceEmpty;
    if (replayed > 0) {
      this.sink.send({
        type: AuditAlertEvents.SpoolReplayed,
        outageId: randomUUID(),
        monitor: this.host.name,
        serviceName: this.host.serviceName,
        recordsReplayed: replayed,
        replayedAt: new Date(this.clock.wallNow()),
      });
      this.replayedSinceEmpty = 0;
    }
    this.host.drained(replayed);
  }

  private progressed(records: number): void {
    this.replayedSinceEmpty += records;
    this.accepted += records;
    this.retryMs = FIRST_RETRY_MS;
    this.stall = null;
  }

  /**
   * The storage did not take `failed`: whether that is the record's doing. The
   * records after it are tried; if the storage takes one, the records before it
   * that it did not take are tried once more, and those it refuses again are set
   * aside (with the storage's answer); the replay goes on. If it takes none, the refusal is the storage's (a revoked
   * grant, a read-only database): nothing is set aside, the replay is tried
   * again later. Records refused again on that later try, though the storage
   * took other records in between (the application's own writes), are set aside.
   * @returns Whether the replay goes on.
   */
  private async refusedAlone(
    failed: { readonly entry: SpoolEntry; readonly hash: string },
    outcome: Failure,
  ): Promise<boolean> {
    const refused: { entry: SpoolEntry; hash: string; error: unknown }[] = [{ ...failed, error: outcome.error }];
    for (const later of this.log.following(failed.entry.seq, LOOKAHEAD)) {
      const next = await this.attempt(later.entry);
      if (this.closed) return false;
      if (!next.ok) {
        if (next.timedOut) return false;
        refused.push({ ...later, error: next.error });
        continue;
      }
      // Each once more, now that the storage takes records: a refusal of every record that ended
      // between two tries (a grant given back) is no record's fault.
      const refusedAgain: typeof refused = [];
      for (const record of refused) {
        const again = await this.attempt(record.entry);
        if (this.closed) return false;
        if (again.ok) continue;
        if (again.timedOut) return false;
        refusedAgain.push({ ...record, error: again.error });
      }
      for (const { entry, error } of refusedAgain) {
        this.logger.error(spoolRecordRefused(this.host.name, entry.id, entry.seq, errorText(error)));
      }
      if (refusedAgain.length > 0) {
        const last = refused.at(-1)!;
        await this.setAside(
          refusedAgain.map(({ entry }) => entry),
          `the storage refused ${refusedAgain.length === 1 ? 'it' : 'them'} twice, and took the record after: ${errorText(refusedAgain[0]!.error)}`,
          0,
          { seq: last.entry.seq, hash: last.hash },
        );
      }
      await this.log.replayed(later);
      this.progressed(1 + refused.length - refusedAgain.length);
      return true;
    }
    // Refused again, though the storage took other records since the last time: these records are the trouble.
    const previous = this.lastRefusal;
    this.lastRefusal = { seq: failed.entry.seq, accepted: this.accepted };
    if (previous?.seq === failed.entry.seq && this.accepted > previous.accepted && this.host.state() === 'healthy') {
      for (const { entry, error } of refused) {
        this.logger.error(spoolRecordRefused(this.host.name, entry.id, entry.seq, errorText(error)));
      }
      const last = refused.at(-1)!;
      await this.setAside(
        refused.map(({ entry }) => entry),
        `the storage refused ${refused.length === 1 ? 'it' : 'them'} twice, and took other records in between: ${errorText(outcome.error)}`,
        0,
        { seq: last.entry.seq, hash: last.hash },
      );
      this.lastRefusal = null;
      return true;
    }
    if (refused.length > 1 && this.stall !== 'refused') {
      this.stall = 'refused';
      this.logger.warn(spoolEveryRecordRefused(this.host.name, refused.length, errorText(outcome.error)));
    }
    return false;
  }

  private stopped(outcome: Failure): void {
    if (outcome.timedOut) this.timeoutMs = Math.min(this.timeoutMs * 2, this.baseTimeoutMs * MAX_TIMEOUT_GROWTH);
    if (this.stall !== 'refused') {
      this.logger.warn(spoolReplayStopped(this.host.name, errorText(outcome.error), this.log.pending, this.retryMs));
    }
    this.retryLater();
  }

  /** Moves lines to the quarantine file, durably, then the replay past them; says so in a log line and an event. */
  private async setAside(
    lines: readonly QuarantinedLine[],
    reason: string,
    missing: number,
    through: { readonly seq: number; readonly hash: string | null },
  ): Promise<void> {
    const at = new Date(this.clock.wallNow());
    const text = errorText(reason);
    await quarantine(this.log.directory, lines, text, at.toISOString());
    // The replay moves past them once the report is delivered: a process that dies before sets them aside
    // and reports them again at its next start, never not at all.
    await this.reportQuarantined(lines.length, missing, text, at);
    await this.log.passed(through);
  }

  /** Says, in a log line and an event, that `count` records were set aside and `missing` more are gone. */
  reportQuarantined(count: number, missing: number, reason: string, at: Date): Promise<void> {
    this.logger.error(spoolQuarantined(this.host.name, count, missing, reason, QUARANTINE_FILE));
    return this.sink.send({
      type: AuditAlertEvents.SpoolQuarantined,
      outageId: randomUUID(),
      monitor: this.host.name,
      serviceName: this.host.serviceName,
      recordsQuarantined: count,
      recordsMissing: missing,
      reason,
      file: QUARANTINE_FILE,
      quarantinedAt: at,
    });
  }

  /** One replay, bounded in time; the storage's failure comes back as a value. */
  private async attempt(entry: SpoolEntry): Promise<{ readonly ok: true } | Failure> {
    const timeoutMs = this.timeoutMs;
    const context = { id: String(entry.id), seq: entry.seq, spooledAt: new Date(entry.at) };
    let timedOut = false;
    try {
      await withTimeout(
        () => this.options.replay(entry.record, context),
        timeoutMs,
        this.clock,
        () => {
          timedOut = true;
          return new Error(spoolReplayTimedOut(timeoutMs));
        },
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error, timedOut };
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, ms));
  }
}

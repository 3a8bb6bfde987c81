import { hostname } from 'node:os';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import {
  gapRecordFailed,
  gapRecordTimedOut,
  gapRecordWritten,
  gapRecordsResumed,
  gapRecordsUnkept,
} from '../audit-alert.messages.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import type { StorageRecoveredEvent } from '../events/audit-alert-event.interface.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import type { AuditGapRecord, AuditGapRecordWriter } from './gap-record-options.interface.js';
import type { GapRecordStore, PendingGapRecord } from './gap-record-store.interface.js';

/** A failed gap record is tried again after this, doubling up to the last: bounded, and never given up. */
const GAP_RECORD_FIRST_RETRY_MS = 1_000;
const GAP_RECORD_LAST_RETRY_MS = 300_000;

/** What the recorder is given besides its store. */
interface GapRecorderSettings {
  readonly monitor: string;
  readonly write: AuditGapRecordWriter;
  /** How long one call may take: `hookTimeoutMs`. */
  readonly timeoutMs: number;
  /** Whether the store is shared by the replicas (Redis): a gap waiting for another host's spool is left to it. */
  readonly shared: boolean;
}

/**
 * The gap records of one monitor: each alerted outage that ends becomes one,
 * kept in the store, written through the application's `gapRecord` once the
 * spool's replay has finished (at once without a spool), tried again with a
 * bounded backoff until it is written, then forgotten. At least once: a
 * process killed between the application's success and the store's removal
 * calls it again after its restart, with the same `outageId`.
 */
export class AuditGapRecorder {
  private readonly gaps = new Map<string, PendingGapRecord>();
  private readonly logger = new AuditAlertLogger();
  private readonly host = hostname();
  private retryTimer: AuditAlertTimer | null = null;
  private retryMs = GAP_RECORD_FIRST_RETRY_MS;
  private running = false;
  private started = false;
  private closed = false;
  /** Set once keeping failed, until it succeeds again: said in the log once. */
  private unkept = false;

  constructor(
    private readonly settings: GapRecorderSettings,
    private readonly store: GapRecordStore,
    private readonly clock: AuditAlertClock,
    private readonly ledger: AuditLedgerWriter | null,
  ) {}

  /** The application has started: takes what a process before this one left, and writes what is due. */
  start(): void {
    this.started = true;
    void this.store.load().then(
      (saved) => {
        const mine = saved.filter(
          (gap) =>
            !this.gaps.has(gap.outageId) && !(this.settings.shared && gap.awaitingReplay && gap.host !== this.host),
        );
        for (const gap of mine) this.gaps.set(gap.outageId, gap);
        if (mine.length > 0) this.logger.log(gapRecordsResumed(this.settings.monitor, mine.length, this.store.where));
        this.kept();
        this.run();
      },
      (error: unknown) => {
        this.unkeptBecause(error);
        this.run();
      },
    );
  }

  /** Stops the retries; a call in flight finishes, and what is not written stays in the store for the next process. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * An alerted outage has ended with `event`.
   * @param awaitingReplay The monitor has a spool: the gap waits for its replay to finish.
   */
  recovered(event: StorageRecoveredEvent, awaitingReplay: boolean): void {
    // A recovery announced again (a process killed before its recovery was delivered) is the same gap.
    if (this.gaps.has(event.outageId)) return;
    const gap: PendingGapRecord = {
      outageId: event.outageId,
      monitor: event.monitor,
      serviceName: event.serviceName,
      from: event.outageStartedAt.getTime(),
      to: event.recoveredAt.getTime(),
      writesFailed: event.writesFailed,
      recordsSpooled: event.recordsSpooled,
      recordsReplayed: null,
      recordsLost: event.recordsLost,
      awaitingReplay,
      attempts: 0,
      host: this.host,
    };
    this.gaps.set(gap.outageId, gap);
    void this.keep(gap);
    this.run();
  }

  /** The spool is empty: its replay has finished, with `recordsReplayed` records since it was last empty. */
  replayFinished(recordsReplayed: number): void {
    let released = false;
    for (const gap of this.gaps.values()) {
      if (!gap.awaitingReplay) continue;
      const due = { ...gap, awaitingReplay: false, recordsReplayed };
      this.gaps.set(gap.outageId, due);
      void this.keep(due);
      released = true;
    }
    if (released) this.run();
  }

  private run(): void {
    if (this.running || this.closed || !this.started || this.retryTimer !== null || this.next() === null) return;
    this.running = true;
    void this.writeDue().finally(() => {
      this.running = false;
    });
  }

  /** The oldest gap whose replay is over. */
  private next(): PendingGapRecord | null {
    let oldest: PendingGapRecord | null = null;
    for (const gap of this.gaps.values())
      if (!gap.awaitingReplay && (oldest === null || gap.to < oldest.to)) oldest = gap;
    return oldest;
  }

  private async writeDue(): Promise<void> {
    for (let gap = this.next(); gap !== null && !this.closed; gap = this.next()) {
      const attempted = { ...gap, attempts: gap.attempts + 1 };
      this.gaps.set(gap.outageId, attempted);
      // Kept before the call: a process killed during it still has the gap, and counts the attempt.
      await this.keep(attempted);
      try {
        await withTimeout(
          () => this.settings.write(publicGap(attempted)),
          this.settings.timeoutMs,
          this.clock,
          () => new Error(gapRecordTimedOut(this.settings.timeoutMs)),
        );
      } catch (error) {
        this.failed(attempted, errorText(error));
        return;
      }
      this.written(attempted);
      // Forgotten once written: a process killed before this removal lands calls it again (at least once).
      await this.forget(attempted.outageId);
    }
  }

  private written(gap: PendingGapRecord): void {
    this.gaps.delete(gap.outageId);
    this.retryMs = GAP_RECORD_FIRST_RETRY_MS;
    const { from, to } = isoTimes(gap);
    this.logger.log(gapRecordWritten(gap.monitor, gap.outageId, from, to, gap.attempts));
    this.appendToLedger(gap, 'written', null);
  }

  private failed(gap: PendingGapRecord, reason: string): void {
    this.logger.error(gapRecordFailed(gap.monitor, gap.outageId, gap.attempts, reason, this.retryMs));
    this.appendToLedger(gap, 'failed', reason);
    if (this.closed) return;
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = null;
      this.run();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, GAP_RECORD_LAST_RETRY_MS);
  }

  private appendToLedger(gap: PendingGapRecord, result: 'written' | 'failed', reason: string | null): void {
    const { from, to } = isoTimes(gap);
    this.ledger?.append({
      kind: 'gap-record',
      outageId: gap.outageId,
      monitor: gap.monitor,
      from,
      to,
      result,
      attempts: gap.attempts,
      reason,
    });
  }

  private keep(gap: PendingGapRecord): Promise<void> {
    return this.store.put(gap).then(
      () => this.kept(),
      (error: unknown) => this.unkeptBecause(error),
    );
  }

  private forget(outageId: string): Promise<void> {
    return this.store.remove(outageId).then(
      () => this.kept(),
      (error: unknown) => this.unkeptBecause(error),
    );
  }

  private kept(): void {
    this.unkept = false;
  }

  private unkeptBecause(error: unknown): void {
    if (!this.unkept) this.logger.warn(gapRecordsUnkept(this.settings.monitor, this.store.where, errorText(error)));
    this.unkept = true;
  }
}

function isoTimes(gap: PendingGapRecord): { readonly from: string; readonly to: string } {
  return { from: new Date(gap.from).toISOString(), to: new Date(gap.to).toISOString() };
}

/** The gap as the application's function gets it. */
function publicGap(gap: PendingGapRecord): AuditGapRecord {
  return {
    outageId: gap.outageId,
    monitor: gap.monitor,
    serviceName: gap.serviceName,
    from: new Date(gap.from),
    to: new Date(gap.to),
    writesFailed: gap.writesFailed,
    recordsSpooled: gap.recordsSpooled,
    recordsReplayed: gap.recordsSpooled === null ? null : (gap.recordsReplayed ?? 0),
    recordsLost: gap.recordsLost,
  };
}

/** Makes the gap recorder of each monitor; `null` for a monitor without `gapRecord`. Provided by the module. */
export type GapRecorderFactory = (monitor: ResolvedMonitorOptions) => AuditGapRecorder | null;

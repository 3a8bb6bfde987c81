import type { AuditLedgerWriter, LedgerSpoolHeadRecord } from '../ledger/ledger-entry.interface.js';

/** The last record on the spool's disk, and its hash. */
interface SpoolHeadMark {
  readonly seq: number;
  readonly hash: string;
}

/** Raised when the ledger could not record the replay's position: the replay must not move past it. */
class SpoolHeadUnrecordedError extends Error {
  override readonly name = 'SpoolHeadUnrecordedError';
}

/**
 * Records where a monitor's spool stands in the evidence ledger (`spool-head`
 * records), out of reach of whoever can rewrite the spool's directory, so that
 * `verifyAuditSpool(dir, { ledger })` finds records cut off the end or claimed
 * replayed. Two orders keep a genuine spool verifiable whenever the process
 * dies: the head is recorded only once its records are on disk, so the ledger
 * never names a record the spool does not have (it may lag: records not
 * recorded yet are fine); and the replay's position is on the ledger's disk
 * before the spool's state file moves to it, so the spool never says a record
 * was replayed that the ledger did not expect to be (the ledger may be ahead:
 * those records are still in the spool, and are replayed again).
 * Coalesced: one record per append batch, one per stretch of records the
 * replay reads at once, one when the replay stops; none while nothing is spooled.
 * @internal
 */
export class SpoolHeadRecorder {
  /** The replay position the records handed to the ledger carry: never behind the spool's state file. */
  private claimed = 0;
  /** Of the positions claimed, the furthest the ledger said is on its disk. */
  private confirmed = 0;
  /** The last record handed to the ledger: an unchanged spool is not recorded twice. */
  private last: LedgerSpoolHeadRecord | null = null;

  constructor(
    private readonly ledger: AuditLedgerWriter,
    private readonly monitor: string,
  ) {}

  /** The spool opened (or started again, its directory removed) with its replay at `replayedSeq`. */
  opened(replayedSeq: number): void {
    this.claimed = replayedSeq;
    this.confirmed = replayedSeq;
  }

  /** The records of an append are on disk (fsync'd): the head moved. */
  appended(head: SpoolHeadMark): void {
    this.record(head, this.claimed);
  }

  /**
   * Before the replay's position moves to `seq`: makes sure the ledger holds a
   * position at least that far, on its disk. The replay claims `upTo` (the
   * records it has read and is about to replay) in one record, so the ledger is
   * written once per stretch, not once per record.
   * @throws SpoolHeadUnrecordedError when the ledger closed or dropped the record.
   */
  async beforeReplayed(seq: number, upTo: number, head: SpoolHeadMark): Promise<void> {
    if (seq <= this.confirmed) return;
    const claim = Math.max(this.claimed, upTo, seq);
    this.claimed = claim;
    const record = this.recordOf(head, claim);
    this.last = record;
    if (!(await this.ledger.appendSynced(record))) {
      throw new SpoolHeadUnrecordedError(
        `the evidence ledger did not record the replay's position (record ${claim}): the replay does not move past it`,
      );
    }
    this.confirmed = Math.max(this.confirmed, claim);
  }

  /** The replay stopped, or emptied the spool, at `replayedSeq`: the ledger learns where it really stands. */
  settled(head: SpoolHeadMark, replayedSeq: number): void {
    this.claimed = replayedSeq;
    this.confirmed = replayedSeq;
    this.record(head, replayedSeq);
  }

  private record(head: SpoolHeadMark, replayedSeq: number): void {
    const last = this.last;
    if (last?.headSeq === head.seq && last.headHash === head.hash && last.replayedSeq === replayedSeq) return;
    this.last = this.recordOf(head, replayedSeq);
    this.ledger.append(this.last);
  }

  private recordOf(head: SpoolHeadMark, replayedSeq: number): LedgerSpoolHeadRecord {
    return { kind: 'spool-head', monitor: this.monitor, headSeq: head.seq, headHash: head.hash, replayedSeq };
  }
}

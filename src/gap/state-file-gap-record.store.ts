import type { AuditAlertStateFile } from '../state/audit-alert-state.file.js';
import { type GapRecordStore, isPendingGapRecord, type PendingGapRecord } from './gap-record-store.interface.js';

/** The gap records of one monitor, in the `state` file beside its open outage (`gapRecords`). */
export class StateFileGapRecordStore implements GapRecordStore {
  private readonly gaps = new Map<string, PendingGapRecord>();

  /** @param where The state file's path, for the log. */
  constructor(
    private readonly file: AuditAlertStateFile,
    readonly where: string,
    private readonly monitor: string,
  ) {}

  load(): Promise<PendingGapRecord[]> {
    // The file was read when the module was created, before any write could be tracked.
    const gaps = this.file.gapRecordsOf(this.monitor).filter(isPendingGapRecord);
    for (const gap of gaps) if (!this.gaps.has(gap.outageId)) this.gaps.set(gap.outageId, gap);
    return Promise.resolve(gaps);
  }

  put(gap: PendingGapRecord): Promise<void> {
    this.gaps.set(gap.outageId, gap);
    return this.file.keepGapRecords(this.monitor, [...this.gaps.values()]);
  }

  remove(outageId: string): Promise<void> {
    this.gaps.delete(outageId);
    return this.file.keepGapRecords(this.monitor, [...this.gaps.values()]);
  }
}

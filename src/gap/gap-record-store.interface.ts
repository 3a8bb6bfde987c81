/** A gap record not written yet, as a store keeps it: plain JSON, times in milliseconds since the epoch. */
export interface PendingGapRecord {
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  readonly from: number;
  readonly to: number;
  readonly writesFailed: number;
  readonly recordsSpooled: number | null;
  /** `null` while the spool's replay has not finished (or without a spool: see {@link awaitingReplay}). */
  readonly recordsReplayed: number | null;
  readonly recordsLost: number | null;
  /** Waits for the spool's replay to finish before it is written. */
  readonly awaitingReplay: boolean;
  /** Calls made so far, across restarts. */
  readonly attempts: number;
  /** The host whose spool it waits for (`os.hostname()`): under `cluster`, another replica's spool is not this one's. */
  readonly host: string;
}

/**
 * Where a monitor keeps its gap records until they are written, so that a
 * restart does not lose one: the `state` file, Redis under `cluster`, the
 * spool's directory, or memory only. Every method may reject; the recorder
 * logs it and goes on from memory.
 */
export interface GapRecordStore {
  /** Where the records are kept, for the log. */
  readonly where: string;
  /** The monitor's records a process before this one left. */
  load(): Promise<PendingGapRecord[]>;
  /** Keeps `gap` (a new one, or one whose replay finished or whose attempts grew). */
  put(gap: PendingGapRecord): Promise<void>;
  /** Forgets the gap of `outageId`: it has been written. */
  remove(outageId: string): Promise<void>;
}

/** Keeps nothing across a restart: with neither `state`, `cluster` nor a spool. */
export class InMemoryGapRecordStore implements GapRecordStore {
  readonly where = 'memory only';

  load(): Promise<PendingGapRecord[]> {
    return Promise.resolve([]);
  }

  put(): Promise<void> {
    return Promise.resolve();
  }

  remove(): Promise<void> {
    return Promise.resolve();
  }
}

/** Whether `value`, read back from a store, is a gap record this version can write. */
export function isPendingGapRecord(value: unknown): value is PendingGapRecord {
  if (typeof value !== 'object' || value === null) return false;
  const gap = value as Record<string, unknown>;
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const countOrNull = (v: unknown) => v === null || count(v);
  return (
    typeof gap.outageId === 'string' &&
    typeof gap.monitor === 'string' &&
    typeof gap.serviceName === 'string' &&
    typeof gap.host === 'string' &&
    Number.isFinite(gap.from) &&
    Number.isFinite(gap.to) &&
    count(gap.writesFailed) &&
    countOrNull(gap.recordsSpooled) &&
    countOrNull(gap.recordsReplayed) &&
    countOrNull(gap.recordsLost) &&
    typeof gap.awaitingReplay === 'boolean' &&
    count(gap.attempts)
  );
}

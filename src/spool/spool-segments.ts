import { readdir, readFile } from 'node:fs/promises';

/** Where the replay stands: what was removed, and what was replayed. */
export interface SpoolState {
  /** Last record of the files already deleted, and its hash: where the chain now starts. */
  readonly baseSeq: number;
  readonly baseHash: string;
  /** Last record replayed or set aside. */
  readonly replayedSeq: number;
  /** Its hash: what the next line must be chained to; `null` when that line was unreadable. */
  readonly replayedHash?: string | null;
}

/** The last record appended, kept apart from the data so that a truncated tail is detectable. */
export interface SpoolHead {
  readonly seq: number;
  readonly hash: string;
  /** `true` when the chain is an HMAC under `spool.hmacKey`. */
  readonly keyed?: boolean;
}

/** How far the replay has gone. */
export const STATE_FILE = 'state.json';
/** The last line's sequence number and hash. */
export const HEAD_FILE = 'head.json';
/** Owner-only: audit records may hold personal data. */
export const DIR_MODE = 0o700;

const SEGMENT = /^segment-(\d{16})\.jsonl$/;

/** The name of the segment whose first record is `firstSeq`: zero-padded, so that names sort as numbers do. */
export const segmentName = (firstSeq: number): string => `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;

/** The segment files of `directory`, oldest first. */
export async function segmentsOf(directory: string): Promise<{ name: string; firstSeq: number }[]> {
  const names = await readdir(directory);
  return names
    .map((name) => ({ name, match: SEGMENT.exec(name) }))
    .filter((s) => s.match !== null)
    .map((s) => ({ name: s.name, firstSeq: Number(s.match![1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

/** The JSON file at `path`, or `fallback` when there is none. */
export async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw error;
  }
}

import { createHash, createHmac } from 'node:crypto';

/** One record as a line of the spool. */
export interface SpoolEntry {
  readonly seq: number;
  /** The caller's id (a string, or a whole number), else one the spool made. */
  readonly id: string | number;
  /** ISO wall-clock time it was spooled. */
  readonly at: string;
  readonly record: unknown;
}

/** A line of the spool as it is on disk. */
export type SpoolLine = SpoolEntry & { readonly prev: string; readonly hash: string };

/** The hash the first line of a spool is chained to. */
export const GENESIS = '0'.repeat(64);

/**
 * The hash that chains a line to the one before it: SHA-256 of the line's
 * content and the previous hash, or HMAC-SHA256 under `key`.
 */
export function spoolLineHash(entry: SpoolEntry, prev: string, key: Buffer | null = null): string {
  const { seq, id, at, record } = entry;
  const content = JSON.stringify({ seq, id, at, record, prev });
  return (key === null ? createHash('sha256') : createHmac('sha256', key)).update(content).digest('hex');
}

/** Parses one line; `null` when it is not a spool line. */
export function parseLine(line: string): SpoolLine | null {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const { seq, id, at, prev, hash } = parsed;
    const valid =
      Number.isSafeInteger(seq) &&
      (typeof id === 'string' || Number.isSafeInteger(id)) &&
      typeof at === 'string' &&
      typeof prev === 'string' &&
      typeof hash === 'string' &&
      'record' in parsed;
    return valid ? (parsed as unknown as SpoolLine) : null;
  } catch {
    return null;
  }
}

/** The complete lines of `text` (what follows the last line end is a line being written, or cut short). */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

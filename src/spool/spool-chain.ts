import { chainHash } from '../common/hash-chain.util.js';

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
type SpoolLine = SpoolEntry & { readonly prev: string; readonly hash: string };

/**
 * The hash that chains a line to the one before it: SHA-256 of the line's
 * content and the previous hash, or HMAC-SHA256 under `key`.
 */
export function spoolLineHash(entry: SpoolEntry, prev: string, key: Buffer | null = null): string {
  const { seq, id, at, record } = entry;
  return chainHash({ seq, id, at, record }, prev, key);
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

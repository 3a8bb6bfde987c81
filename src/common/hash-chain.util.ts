import { createHash, createHmac } from 'node:crypto';

/*
 * The one hash chain of the module's append-only files (the spool, the
 * evidence ledger): each line carries the hash of the line before it (`prev`)
 * and its own (`hash`), so an edited, removed or reordered line breaks the
 * chain at that point.
 */

/** The hash the first line of a chain is chained to. */
export const GENESIS = '0'.repeat(64);

/**
 * The hash that chains a line to the one before it: SHA-256 of the JSON of
 * `content` followed by `prev` (as a last field), or HMAC-SHA256 under `key`.
 * The order of `content`'s fields is part of what is hashed.
 */
export function chainHash(content: Readonly<Record<string, unknown>>, prev: string, key: Buffer | null = null): string {
  const text = JSON.stringify({ ...content, prev });
  return (key === null ? createHash('sha256') : createHmac('sha256', key)).update(text).digest('hex');
}

/** The complete lines of `text` (what follows the last line end is a line being written, or cut short). */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

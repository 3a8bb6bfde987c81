import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chainHash, GENESIS } from '../common/hash-chain.util.js';
import { readLedgerLines } from './ledger-reader.js';

/** What {@link verifyAuditLedger} found. */
export interface AuditLedgerVerification {
  /** `true` when every line is intact, chained to the one before it, and in sequence. */
  readonly ok: boolean;
  /** Lines found intact (before the first bad one). */
  readonly entries: number;
  /** The first line that breaks the chain. */
  readonly firstBadLine?: { readonly file: string; readonly line: number };
  /** What is wrong with it. */
  readonly reason?: string;
}

/**
 * Checks the ledger in `directory`: every line parses, its hash matches its
 * content and the hash of the line before, sequence numbers follow each other,
 * and no file ends in a line cut short; so an edited, removed, reordered or
 * truncated line is reported, with the first line where the chain breaks.
 */
export async function verifyAuditLedger(directory: string): Promise<AuditLedgerVerification> {
  let entries = 0;
  let last: { seq: number; hash: string } | null = null;
  let file: string | null = null;
  const broken = (at: { file: string; line: number }, reason: string): AuditLedgerVerification => ({
    ok: false,
    entries,
    firstBadLine: { file: at.file, line: at.line },
    reason,
  });
  for await (const read of readLedgerLines(directory)) {
    if (read.file !== file) {
      if (file !== null && (await cutShort(directory, file))) return broken(await endOf(directory, file), CUT_SHORT);
      file = read.file;
    }
    const { entry } = read;
    if (entry === null) return broken(read, 'not a ledger line');
    const { hash, prev, ...content } = entry;
    // After pruning, the ledger starts later than 1, chained to a line that is gone.
    if (last !== null && entry.seq !== last.seq + 1) {
      return broken(read, `sequence ${entry.seq} where ${last.seq + 1} was due`);
    }
    if (last === null ? entry.seq === 1 && prev !== GENESIS : prev !== last.hash) {
      return broken(read, 'not chained to the line before it');
    }
    if (chainHash(content, prev) !== hash) return broken(read, 'its content does not match its hash');
    last = { seq: entry.seq, hash };
    entries += 1;
  }
  if (file !== null && (await cutShort(directory, file))) return broken(await endOf(directory, file), CUT_SHORT);
  return { ok: true, entries };
}

const CUT_SHORT = 'the last line is cut short (no line end): truncated';

async function cutShort(directory: string, file: string): Promise<boolean> {
  const text = await readFile(join(directory, file), 'utf8');
  return text !== '' && !text.endsWith('\n');
}

async function endOf(directory: string, file: string): Promise<{ file: string; line: number }> {
  const text = await readFile(join(directory, file), 'utf8');
  return { file, line: text.split('\n').length };
}

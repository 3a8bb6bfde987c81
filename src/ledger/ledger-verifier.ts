import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { GENESIS } from '../common/hash-chain.util.js';
import { expectedHash } from './ledger-line.js';
import { ledgerFiles, readLedgerLines } from './ledger-reader.js';

/** What {@link verifyAuditLedger} found. */
export interface AuditLedgerVerification {
  /** `true` when every line is intact, chained to the one before, and numbered in sequence. */
  readonly ok: boolean;
  /** Lines found intact, up to the first bad one. */
  readonly entries: number;
  /** The first line that breaks the chain. */
  readonly firstBadLine?: { readonly file: string; readonly line: number };
  /** Why it breaks it, one sentence. */
  readonly reason?: string;
}

const CUT_SHORT = 'the line is cut short (no line end): the file was truncated';

/** Whether the file does not end with a line end: its last line is cut short. */
async function cutShort(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await file.close();
  }
}

/**
 * Checks the evidence ledger in `directory`: every line parses, its hash
 * matches its content and the hash of the line before, and its sequence number
 * follows the one before, across the day files; so an edited, removed,
 * reordered or truncated line, and a line cut short at the end of a file, are
 * found. The first line of the oldest file is the anchor: files older than
 * `retentionDays` are deleted, so its `prev` names a line no longer kept
 * (unless it is the ledger's first line, chained to the genesis hash).
 */
export async function verifyAuditLedger(directory: string): Promise<AuditLedgerVerification> {
  let entries = 0;
  let last: { seq: number; hash: string } | null = null;
  const broken = (file: string, line: number, reason: string): AuditLedgerVerification => ({
    ok: false,
    entries,
    firstBadLine: { file, line },
    reason,
  });
  const files = await ledgerFiles(directory);
  const torn = new Set<string>();
  for (const file of files) if (await cutShort(join(directory, file))) torn.add(file);
  /** The files before `file` (all of them, for `null`) whose lines are all read: a cut tail is the first break. */
  const tornBefore = (file: string | null, linesRead: Map<string, number>): AuditLedgerVerification | null => {
    for (const name of files) {
      if (name === file) return null;
      if (torn.has(name)) return broken(name, (linesRead.get(name) ?? 0) + 1, CUT_SHORT);
    }
    return null;
  };
  const linesRead = new Map<string, number>();
  for await (const { file, line, entry } of readLedgerLines(directory)) {
    if (!linesRead.has(file)) {
      const cut = tornBefore(file, linesRead);
      if (cut !== null) return cut;
    }
    linesRead.set(file, line);
    if (entry === null) return broken(file, line, 'not a ledger line: it was edited or damaged');
    if (last === null) {
      if (entry.seq === 1 && entry.prev !== GENESIS)
        return broken(file, line, 'the first line of the ledger is not chained to the genesis hash');
    } else {
      if (entry.seq !== last.seq + 1)
        return broken(
          file,
          line,
          `sequence ${entry.seq} where ${last.seq + 1} was due: lines were removed or reordered`,
        );
      if (entry.prev !== last.hash) return broken(file, line, 'not chained to the line before it');
    }
    if (expectedHash(entry) !== entry.hash)
      return broken(file, line, 'its content does not match its hash: it was edited');
    last = { seq: entry.seq, hash: entry.hash };
    entries += 1;
  }
  return tornBefore(null, linesRead) ?? { ok: true, entries };
}

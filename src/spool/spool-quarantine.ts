import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, syncDirectory } from '../common/durable-file.util.js';

/** Records the replay set aside: damaged, refused by the storage, or behind a break of the chain. */
export const QUARANTINE_FILE = 'quarantine.jsonl';

/** A line set aside in the quarantine file instead of being replayed. */
export interface QuarantinedLine {
  readonly seq: number | null;
  readonly id?: string | number;
  readonly at?: string;
  readonly record?: unknown;
  /** The text of a line that is not a spool line. */
  readonly text?: string;
}

/**
 * Appends lines to the quarantine file of `directory` (owner-only) and fsyncs
 * it. The caller then moves the replay past them (`SpoolLog.passed`): a crash
 * in between sets them aside twice, never loses them.
 */
export async function quarantine(
  directory: string,
  lines: readonly QuarantinedLine[],
  reason: string,
  at: string,
): Promise<void> {
  if (lines.length === 0) return;
  const text = lines.map((line) => `${JSON.stringify({ ...line, reason, quarantinedAt: at })}\n`).join('');
  const path = join(directory, QUARANTINE_FILE);
  const file = await open(path, 'a', PRIVATE_FILE_MODE);
  try {
    await file.appendFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await syncDirectory(directory);
}

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines } from '../common/hash-chain.util.js';
import type { LedgerLine } from './ledger-entry.interface.js';

/** One line of a ledger file, and the entry it holds. */
export interface LedgerLineRead {
  /** The file's name, within the ledger's directory. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly text: string;
  /** `null` when the line is not a ledger line. */
  readonly entry: LedgerLine | null;
}

const LEDGER_FILE = /^ledger-.*\.jsonl$/;

/**
 * Every complete line of the ledger in `directory`, file by file in name
 * order (`ledger-YYYY-MM-DD.jsonl`, UTC days), as written.
 */
export async function* readLedgerLines(directory: string): AsyncIterable<LedgerLineRead> {
  const files = (await readdir(directory)).filter((name) => LEDGER_FILE.test(name)).sort();
  for (const file of files) {
    const lines = completeLines(await readFile(join(directory, file), 'utf8'));
    for (const [index, text] of lines.entries()) yield { file, line: index + 1, text, entry: parseLedgerLine(text) };
  }
}

function parseLedgerLine(text: string): LedgerLine | null {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    const valid =
      parsed !== null &&
      typeof parsed === 'object' &&
      Number.isSafeInteger(parsed.seq) &&
      typeof parsed.kind === 'string' &&
      typeof parsed.at === 'string' &&
      typeof parsed.prev === 'string' &&
      typeof parsed.hash === 'string';
    return valid ? (parsed as unknown as LedgerLine) : null;
  } catch {
    return null;
  }
}

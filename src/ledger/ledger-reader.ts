import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines } from '../common/hash-chain.util.js';
import type { LedgerLine } from './ledger-entry.interface.js';
import { LEDGER_FILE, parseLedgerLine } from './ledger-line.js';

/** One line of a ledger file, as read. */
interface LedgerFileLine {
  /** The file's name, within the directory. */
  readonly file: string;
  /** 1-based, within the file. */
  readonly line: number;
  readonly text: string;
  /** The parsed line; `null` when the text is not a ledger line. */
  readonly entry: LedgerLine | null;
}

/** The ledger files of `directory`, in name order (which is the order of their days). */
export async function ledgerFiles(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => LEDGER_FILE.test(name)).sort();
}

/**
 * The complete lines of the ledger in `directory`, file by file in name order;
 * a last line without its line end (being written, or cut short) is left out.
 */
export async function* readLedgerLines(directory: string): AsyncIterable<LedgerFileLine> {
  for (const file of await ledgerFiles(directory)) {
    const lines = completeLines(await readFile(join(directory, file), 'utf8'));
    for (let index = 0; index < lines.length; index += 1) {
      const text = lines[index]!;
      yield { file, line: index + 1, text, entry: parseLedgerLine(text) };
    }
  }
}

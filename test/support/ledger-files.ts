import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chainHash, GENESIS } from '../../src/common/hash-chain.util.js';
import type { LedgerLine, LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';

/** A record as a test hands it to {@link chainLedger}: when, by which replica, and what. */
export interface LedgerFixtureEntry {
  readonly at: string;
  readonly replica?: string;
  readonly record: LedgerRecord;
}

/**
 * Frames records as the ledger's writer does (`seq`, `at`, `service`,
 * `replica`, then the record, chained by `prev` and `hash` with the module's
 * one chain hash), so that the verifier and the export read what the writer writes.
 */
export function chainLedger(entries: readonly LedgerFixtureEntry[], service = 'billing-api'): LedgerLine[] {
  let prev = GENESIS;
  return entries.map(({ at, replica = 'api-1:41', record }, index) => {
    const content = { seq: index + 1, at, service, replica, ...record };
    const hash = chainHash(content, prev);
    const line = { ...content, prev, hash } as LedgerLine;
    prev = hash;
    return line;
  });
}

/** Writes `lines` into `directory` as the writer lays them out: one file per UTC day, `ledger-YYYY-MM-DD.jsonl`. */
export async function writeLedgerDirectory(directory: string, lines: readonly LedgerLine[]): Promise<string[]> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const files = new Map<string, string>();
  for (const line of lines) {
    const file = `ledger-${line.at.slice(0, 10)}.jsonl`;
    files.set(file, `${files.get(file) ?? ''}${JSON.stringify(line)}\n`);
  }
  for (const [file, text] of files) await writeFile(join(directory, file), text, { mode: 0o600 });
  return [...files.keys()];
}

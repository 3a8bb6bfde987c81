import { chainHash } from '../common/hash-chain.util.js';
import type { LedgerLine, LedgerRecord } from './ledger-entry.interface.js';

/** The files of a ledger directory, one per UTC day: `ledger-YYYY-MM-DD.jsonl`. */
export const LEDGER_FILE = /^ledger-.*\.jsonl$/;

/** The file of the UTC day of `at` (an ISO time, or milliseconds). */
export function ledgerFileName(at: number): string {
  return `ledger-${new Date(at).toISOString().slice(0, 10)}.jsonl`;
}

/** What the writer adds to a record, apart from the chain. */
interface LedgerFrame {
  readonly seq: number;
  readonly at: string;
  readonly service: string;
  readonly replica: string;
}

/** The content of a line, in the order its hash covers: the frame, then the record's fields. */
function contentOf(frame: LedgerFrame, record: LedgerRecord): Record<string, unknown> {
  const { seq, at, service, replica } = frame;
  return { seq, at, service, replica, ...record };
}

/** Frames `record` as the line after the one whose hash is `prev`: its text (with its line end) and its hash. */
export function ledgerLineText(frame: LedgerFrame, record: LedgerRecord, prev: string): { text: string; hash: string } {
  const content = contentOf(frame, record);
  const hash = chainHash(content, prev);
  return { text: `${JSON.stringify({ ...content, prev, hash })}\n`, hash };
}

/** The hash `line` should carry, given its own `prev`. */
export function expectedHash(line: LedgerLine): string {
  const { prev, hash: _hash, ...content } = line;
  return chainHash(content, prev);
}

/** Parses one line; `null` when it is not a ledger line. */
export function parseLedgerLine(text: string): LedgerLine | null {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const { seq, at, service, replica, prev, hash, kind } = parsed;
    const valid =
      Number.isSafeInteger(seq) &&
      typeof at === 'string' &&
      typeof service === 'string' &&
      typeof replica === 'string' &&
      typeof prev === 'string' &&
      typeof hash === 'string' &&
      typeof kind === 'string';
    return valid ? (parsed as unknown as LedgerLine) : null;
  } catch {
    return null;
  }
}

import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GENESIS } from '../common/hash-chain.util.js';
import type { LedgerSpoolHeadRecord } from '../ledger/ledger-entry.interface.js';
import { ledgerFiles, readLedgerLines } from '../ledger/ledger-reader.js';
import { verifyAuditLedger } from '../ledger/ledger-verifier.js';
import { parseLine, spoolLineHash } from './spool-chain.js';
import { HEAD_FILE, readJson, segmentsOf, type SpoolHead, type SpoolState, STATE_FILE } from './spool-segments.js';

/** What {@link verifyAuditSpool} found. */
export interface AuditSpoolVerification {
  /** `true` when every line is intact and chained, and nothing is missing at either end. */
  readonly ok: boolean;
  /** Lines read and found intact. */
  readonly records: number;
  /** Sequence number of the last intact line (the chain's start when there are none). */
  readonly lastSeq: number;
  /** What is wrong, one sentence each, naming the file and line. */
  readonly problems: readonly string[];
  /**
   * With `ledger`: the spool's head as the evidence ledger last recorded it,
   * the one checked against; `null` when the ledger holds no record of this
   * monitor's spool (nothing was spooled while it was on, or it lags).
   */
  readonly ledgerHead?: AuditSpoolLedgerHead | null;
}

/** A `spool-head` record of the evidence ledger, and where it is. */
export interface AuditSpoolLedgerHead {
  /** The ledger's file, and the 1-based line in it. */
  readonly file: string;
  readonly line: number;
  /** The last record on the spool's disk when it was recorded, and its hash. */
  readonly seq: number;
  readonly hash: string;
  /** How far the spool's replay may have gone by then. */
  readonly replayedSeq: number;
}

/** Options of {@link verifyAuditSpool}. */
export interface AuditSpoolVerifyOptions {
  /** The `spool.hmacKey` the spool was written with, for a keyed chain. */
  readonly key?: string | Buffer;
  /**
   * The evidence ledger's directory (the `ledger.directory` option): the spool
   * is then checked against the last `spool-head` record of `monitor` there,
   * which its writer cannot rewrite, and the ledger's own chain is verified. A
   * spool that ends before that record (records cut off), whose record there is
   * not the one the ledger names (records rewritten), or whose replay is past
   * what the ledger saw (records removed as if replayed) is reported.
   */
  readonly ledger?: string;
  /**
   * The monitor whose records to look for in the ledger.
   * @default the last segment of `directory`'s path (a monitor's spool is `<spool.directory>/<monitor>`)
   */
  readonly monitor?: string;
}

/** Records `from` to `to`, as the subject of a sentence. */
const removed = (from: number, to: number): string =>
  from === to ? `record ${from} was removed` : `records ${from} to ${to} were removed`;

/** `head` as a sentence names it: its file and line. */
const where = (head: AuditSpoolLedgerHead): string => `the ledger (${head.file} line ${head.line})`;

/** The last `spool-head` record of `monitor` in the ledger at `directory`, and the breaks of the ledger's chain. */
async function ledgerHeadOf(
  directory: string,
  monitor: string,
): Promise<{ readonly head: AuditSpoolLedgerHead | null; readonly problems: string[] }> {
  if ((await ledgerFiles(directory)).length === 0) {
    return { head: null, problems: [`${directory}: no ledger files (ledger-*.jsonl): the spool cannot be checked.`] };
  }
  const problems: string[] = [];
  const found = await verifyAuditLedger(directory);
  if (!found.ok) {
    const { file, line } = found.firstBadLine!;
    problems.push(`ledger ${file} line ${line}: ${found.reason!}; its records cannot be trusted.`);
  }
  let head: AuditSpoolLedgerHead | null = null;
  for await (const { file, line, entry } of readLedgerLines(directory)) {
    if (entry?.kind !== 'spool-head' || entry.monitor !== monitor) continue;
    const { headSeq, headHash, replayedSeq } = entry as LedgerSpoolHeadRecord;
    head = { file, line, seq: headSeq, hash: headHash, replayedSeq };
  }
  return { head, problems };
}

/**
 * Checks a spool directory (a monitor's, `<directory>/<monitor>`): every line
 * parses, its hash matches its content and the hash of the line before,
 * sequence numbers follow each other, and the last line is the one `head.json`
 * names, so an edited, removed, reordered or truncated record is reported.
 * Without a key this shows accidental damage and careless edits; only a keyed
 * chain (`spool.hmacKey`, passed here as `key`) shows lines rewritten by someone
 * who recomputed the hashes. `head.json` sits beside the records, so records
 * cut off the end with `head.json` rewritten to match pass; with `ledger`, the
 * spool is also checked against the head the evidence ledger recorded, which
 * shows that. See the spool's documentation for what none of these shows.
 */
export async function verifyAuditSpool(
  directory: string,
  options: AuditSpoolVerifyOptions = {},
): Promise<AuditSpoolVerification> {
  const key = options.key === undefined ? null : Buffer.from(options.key);
  const problems: string[] = [];
  const state = await readJson<SpoolState>(join(directory, STATE_FILE), {
    baseSeq: 0,
    baseHash: GENESIS,
    replayedSeq: 0,
  });
  const head = await readJson<SpoolHead | null>(join(directory, HEAD_FILE), null);
  if (head?.keyed === true && key === null)
    problems.push(`${HEAD_FILE}: the chain is keyed (spool.hmacKey): pass its key.`);
  let seq = state.baseSeq;
  let hash = state.baseHash;
  let records = 0;
  // The head may lag the data (a crash, or a full disk, between the data's fsync and the head's update).
  let anchored = head !== null && head.seq === seq && head.hash === hash;
  /** Every intact line's hash, and where it is, by sequence number; the chain's start first. */
  const chain = new Map<number, { readonly hash: string; readonly at: string }>([
    [seq, { hash, at: `${STATE_FILE}'s baseHash` }],
  ]);
  for (const { name } of await segmentsOf(directory)) {
    const text = await readFile(join(directory, name), 'utf8');
    const lines = text.split('\n');
    // What follows the last line end: nothing, or a line cut short (which the spool cuts off when it next opens).
    if (lines.pop() !== '') problems.push(`${name}: the last line is cut short (no line end): truncated.`);
    lines.forEach((line, index) => {
      const at = `${name} line ${index + 1}`;
      const parsed = parseLine(line);
      if (!parsed) return void problems.push(`${at}: not a spool line.`);
      // A file the replay was deleting when the process died: the state had moved past it already.
      if (records === 0 && seq === state.baseSeq && parsed.seq <= seq) return;
      if (parsed.seq !== seq + 1) problems.push(`${at}: sequence ${parsed.seq} where ${seq + 1} was due.`);
      if (parsed.prev !== hash) problems.push(`${at}: not chained to the line before it.`);
      if (spoolLineHash(parsed, parsed.prev, key) !== parsed.hash)
        problems.push(`${at}: its content does not match its hash.`);
      seq = parsed.seq;
      hash = parsed.hash;
      records += 1;
      chain.set(seq, { hash, at });
      if (head !== null && head.seq === seq && head.hash === hash) anchored = true;
    });
  }
  if (head === null) {
    if (seq !== state.baseSeq) problems.push(`${HEAD_FILE} is missing.`);
  } else if (head.seq > seq) {
    problems.push(`${HEAD_FILE} names record ${head.seq}, but the spool ends at ${seq}: records are missing.`);
  } else if (!anchored) {
    problems.push(`${HEAD_FILE} names record ${head.seq}, which is not on the chain: records were altered.`);
  }
  if (options.ledger === undefined) return { ok: problems.length === 0, records, lastSeq: seq, problems };
  const anchor = await ledgerHeadOf(options.ledger, options.monitor ?? basename(directory));
  problems.push(...anchor.problems);
  const recorded = anchor.head;
  if (recorded !== null) {
    const replayed = Math.max(state.baseSeq, state.replayedSeq);
    const onChain = chain.get(recorded.seq);
    if (recorded.seq > seq) {
      problems.push(
        `${where(recorded)} records the spool's head at record ${recorded.seq}, but the spool ends at record ${seq}: ` +
          `${removed(seq + 1, recorded.seq)}.`,
      );
    } else if (recorded.seq >= state.baseSeq && onChain?.hash !== recorded.hash) {
      problems.push(
        onChain === undefined
          ? `${where(recorded)} records the spool's head at record ${recorded.seq}, which is not in the spool's files: records were removed.`
          : `${where(recorded)} records record ${recorded.seq} with another hash than ${onChain.at} carries: records were rewritten.`,
      );
    }
    if (replayed > recorded.replayedSeq) {
      problems.push(
        `${STATE_FILE} says the replay passed record ${replayed}, but ${where(recorded)} saw it reach record ` +
          `${recorded.replayedSeq} at most: ${removed(recorded.replayedSeq + 1, replayed)} as if replayed.`,
      );
    }
  }
  return { ok: problems.length === 0, records, lastSeq: seq, problems, ledgerHead: recorded };
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GENESIS } from '../common/hash-chain.util.js';
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
}

/** Options of {@link verifyAuditSpool}. */
export interface AuditSpoolVerifyOptions {
  /** The `spool.hmacKey` the spool was written with, for a keyed chain. */
  readonly key?: string | Buffer;
}

/**
 * Checks a spool directory (a monitor's, `<directory>/<monitor>`): every line
 * parses, its hash matches its content and the hash of the line before,
 * sequence numbers follow each other, and the last line is the one `head.json`
 * names, so an edited, removed, reordered or truncated record is reported.
 * Without a key this shows accidental damage and careless edits; only a keyed
 * chain (`spool.hmacKey`, passed here as `key`) shows lines rewritten by someone
 * who recomputed the hashes. See the spool's documentation for what neither shows.
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
  for (const { name } of await segmentsOf(directory)) {
    const text = await readFile(join(directory, name), 'utf8');
    const lines = text.split('\n');
    // What follows the last line end: nothing, or a line cut short (which the spool cuts off when it next opens).
    if (lines.pop() !== '') problems.push(`${name}: the last line is cut short (no line end): truncated.`);
    lines.forEach((line, index) => {
      const at = `${name} line ${index + 1}`;
      const parsed = parseLine(line);
      if (!parsed) return void problems.push(`${at}: not a spool line.`);
      if (parsed.seq !== seq + 1) problems.push(`${at}: sequence ${parsed.seq} where ${seq + 1} was due.`);
      if (parsed.prev !== hash) problems.push(`${at}: not chained to the line before it.`);
      if (spoolLineHash(parsed, parsed.prev, key) !== parsed.hash)
        problems.push(`${at}: its content does not match its hash.`);
      seq = parsed.seq;
      hash = parsed.hash;
      records += 1;
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
  return { ok: problems.length === 0, records, lastSeq: seq, problems };
}

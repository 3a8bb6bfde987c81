import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, syncDirectory, writeDurably } from '../common/durable-file.util.js';

/** One record as a line of the spool. */
export interface SpoolEntry {
  readonly seq: number;
  readonly id: string;
  /** ISO wall-clock time it was spooled. */
  readonly at: string;
  readonly record: unknown;
}

/** Where the replay stands: what was removed, and what was replayed. */
interface SpoolState {
  /** Last record of the files already deleted, and its hash: where the chain now starts. */
  readonly baseSeq: number;
  readonly baseHash: string;
  /** Last record replayed. */
  readonly replayedSeq: number;
}

/** The last record appended, kept apart from the data so that a truncated tail is detectable. */
interface SpoolHead {
  readonly seq: number;
  readonly hash: string;
}

/** Raised when the spool cannot take a record: full, or a write or fsync failed. */
export class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
}

const GENESIS = '0'.repeat(64);
const SEGMENT = /^segment-(\d{16})\.jsonl$/;
const STATE_FILE = 'state.json';
const HEAD_FILE = 'head.json';
/** Owner-only: audit records may hold personal data. */
const DIR_MODE = 0o700;

const segmentName = (firstSeq: number): string => `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;

/** The hash that chains a line to the one before it. */
export function spoolLineHash(entry: SpoolEntry, prev: string): string {
  const { seq, id, at, record } = entry;
  return createHash('sha256').update(JSON.stringify({ seq, id, at, record, prev })).digest('hex');
}

async function segmentsOf(directory: string): Promise<{ name: string; firstSeq: number }[]> {
  const names = await readdir(directory);
  return names
    .map((name) => ({ name, match: SEGMENT.exec(name) }))
    .filter((s) => s.match !== null)
    .map((s) => ({ name: s.name, firstSeq: Number(s.match![1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw error;
  }
}

/** Parses one line; `null` when it is not a spool line. */
function parseLine(line: string): (SpoolEntry & { prev: string; hash: string }) | null {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const { seq, id, at, prev, hash } = parsed;
    const valid =
      Number.isSafeInteger(seq) &&
      typeof id === 'string' &&
      typeof at === 'string' &&
      typeof prev === 'string' &&
      typeof hash === 'string' &&
      'record' in parsed;
    return valid ? (parsed as unknown as SpoolEntry & { prev: string; hash: string }) : null;
  } catch {
    return null;
  }
}

/**
 * The spool's files: append-only JSON Lines segments, each line chained to the
 * one before by a SHA-256 hash; `head.json`, the last line's sequence number and
 * hash; `state.json`, how far the replay has gone. Appends are group-committed:
 * the lines of every record waiting are written and fsync'd together.
 * @internal
 */
export class SpoolLog {
  private state: SpoolState = { baseSeq: 0, baseHash: GENESIS, replayedSeq: 0 };
  private lastSeq = 0;
  private lastHash = GENESIS;
  private totalBytes = 0;
  private segment: { name: string; bytes: number } | null = null;
  private queue: { entry: Omit<SpoolEntry, 'seq'>; done: (error?: Error) => void }[] = [];
  private writing = false;
  /** Replayed records not yet read back: the entries of the segment being replayed. */
  private cache: SpoolEntry[] = [];

  constructor(
    readonly directory: string,
    private readonly segmentBytes: number,
    private readonly maxBytes: number,
  ) {}

  /** Records spooled and not yet replayed. */
  get pending(): number {
    return this.lastSeq - this.state.replayedSeq;
  }

  /** Creates the directory (owner-only) or reads where a previous run left the spool. */
  async open(): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    // mkdir's mode passes through the umask, and an existing directory keeps its own.
    await chmod(this.directory, DIR_MODE);
    this.state = await readJson(join(this.directory, STATE_FILE), this.state);
    const head = await readJson<SpoolHead>(join(this.directory, HEAD_FILE), {
      seq: this.state.baseSeq,
      hash: this.state.baseHash,
    });
    this.lastSeq = head.seq;
    this.lastHash = head.hash;
    this.totalBytes = 0;
    const segments = await segmentsOf(this.directory);
    for (const { name } of segments) this.totalBytes += (await stat(join(this.directory, name))).size;
    const last = segments.at(-1);
    this.segment = last ? { name: last.name, bytes: await this.recoverTail(last.name) } : null;
  }

  /**
   * Brings the newest file and `head.json` back in step after a crash: a line
   * cut short by the crash was never acknowledged and is cut off; lines
   * fsync'd after the one `head.json` names (the process died before it was
   * updated) are adopted. Returns the file's size.
   */
  private async recoverTail(name: string): Promise<number> {
    const path = join(this.directory, name);
    const text = await readFile(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      await truncate(path, Buffer.byteLength(text.slice(0, end)));
      this.totalBytes -= Buffer.byteLength(text.slice(end));
    }
    let adopted = false;
    for (const line of text.slice(0, end).split('\n')) {
      const parsed = parseLine(line);
      if (!parsed || parsed.seq !== this.lastSeq + 1 || parsed.prev !== this.lastHash) continue;
      if (spoolLineHash(parsed, parsed.prev) !== parsed.hash) break;
      this.lastSeq = parsed.seq;
      this.lastHash = parsed.hash;
      adopted = true;
    }
    if (adopted)
      await writeDurably(this.directory, HEAD_FILE, JSON.stringify({ seq: this.lastSeq, hash: this.lastHash }));
    return Buffer.byteLength(text.slice(0, end));
  }

  /** Appends a record; resolves once its line is on disk (fsync'd). */
  append(entry: Omit<SpoolEntry, 'seq'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.writing) void this.flush();
    });
  }

  /** The oldest record not replayed yet, or `null`. */
  async next(): Promise<SpoolEntry | null> {
    const seq = this.state.replayedSeq + 1;
    if (seq > this.lastSeq) return null;
    while (this.cache.length > 0 && this.cache[0]!.seq < seq) this.cache.shift();
    if (this.cache.length === 0) this.cache = await this.readFrom(seq);
    return this.cache[0] ?? null;
  }

  /** Marks `seq` replayed, durably, and deletes the files whose records are all replayed. */
  async replayed(entry: SpoolEntry): Promise<void> {
    let { baseSeq, baseHash } = this.state;
    const segments = await segmentsOf(this.directory);
    for (let i = 0; i < segments.length; i += 1) {
      const { name } = segments[i]!;
      const newest = i === segments.length - 1;
      if (!newest && segments[i + 1]!.firstSeq > entry.seq + 1) break;
      const path = join(this.directory, name);
      const lastLine = parseLine((await readFile(path, 'utf8')).split('\n').findLast((l) => l !== '') ?? '');
      if (!lastLine || lastLine.seq > entry.seq) break;
      if (newest) {
        // Checked and given up in one turn, so no append can land in the file about to go: the next opens a new one.
        if (this.writing || this.lastSeq !== entry.seq || this.segment?.name !== name) break;
        this.segment = null;
      }
      // The state names the new start of the chain before the file goes: a crash in between loses nothing.
      baseSeq = lastLine.seq;
      baseHash = lastLine.hash;
      await writeDurably(this.directory, STATE_FILE, JSON.stringify({ baseSeq, baseHash, replayedSeq: entry.seq }));
      this.totalBytes -= (await stat(path)).size;
      await unlink(path);
    }
    this.state = { baseSeq, baseHash, replayedSeq: entry.seq };
    await writeDurably(this.directory, STATE_FILE, JSON.stringify(this.state));
  }

  private async readFrom(seq: number): Promise<SpoolEntry[]> {
    const segments = await segmentsOf(this.directory);
    const holding = segments.filter((s) => s.firstSeq <= seq).at(-1);
    if (!holding) return [];
    const text = await readFile(join(this.directory, holding.name), 'utf8');
    const entries: SpoolEntry[] = [];
    for (const line of text.split('\n')) {
      const parsed = parseLine(line);
      if (parsed && parsed.seq >= seq)
        entries.push({ seq: parsed.seq, id: parsed.id, at: parsed.at, record: parsed.record });
    }
    return entries;
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      let seq = this.lastSeq;
      let hash = this.lastHash;
      let text = '';
      const kept: typeof batch = [];
      for (const item of batch) {
        let line: string;
        try {
          const entry: SpoolEntry = { seq: seq + 1, ...item.entry };
          const next = spoolLineHash(entry, hash);
          line = `${JSON.stringify({ ...entry, prev: hash, hash: next })}\n`;
          if (this.totalBytes + Buffer.byteLength(text) + Buffer.byteLength(line) > this.maxBytes) {
            item.done(new SpoolWriteError(`the spool is full (maxBytes ${this.maxBytes})`));
            continue;
          }
          seq += 1;
          hash = next;
        } catch (error) {
          // A record JSON cannot hold (a cycle, a BigInt): this one is lost, the others are not.
          item.done(new SpoolWriteError(`the record cannot be written as JSON: ${(error as Error).message}`));
          continue;
        }
        text += line;
        kept.push(item);
      }
      if (kept.length === 0) continue;
      try {
        await this.write(text, this.lastSeq + 1);
        await writeDurably(this.directory, HEAD_FILE, JSON.stringify({ seq, hash }));
        this.lastSeq = seq;
        this.lastHash = hash;
        for (const item of kept) item.done();
      } catch (error) {
        const failure = new SpoolWriteError((error as Error).message);
        for (const item of kept) item.done(failure);
      }
    }
    this.writing = false;
  }

  private async write(text: string, firstSeq: number): Promise<void> {
    const bytes = Buffer.byteLength(text);
    const rotate = this.segment === null || (this.segment.bytes > 0 && this.segment.bytes + bytes > this.segmentBytes);
    if (rotate) this.segment = { name: segmentName(firstSeq), bytes: 0 };
    const segment = this.segment!;
    const file = await open(join(this.directory, segment.name), 'a', PRIVATE_FILE_MODE);
    try {
      await file.appendFile(text);
      await file.sync();
    } catch (error) {
      // What a failed write left behind is cut off, so the next line starts clean.
      await file.truncate(segment.bytes).catch(() => undefined);
      throw error;
    } finally {
      await file.close();
    }
    if (rotate) await syncDirectory(this.directory);
    segment.bytes += bytes;
    this.totalBytes += bytes;
  }
}

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

/**
 * Checks a spool directory (a monitor's, `<directory>/<monitor>`): every line
 * parses, its hash matches its content and the hash of the line before,
 * sequence numbers follow each other, and the last line is the one `head.json`
 * names, so an edited, removed, reordered or truncated record is reported.
 */
export async function verifyAuditSpool(directory: string): Promise<AuditSpoolVerification> {
  const problems: string[] = [];
  const state = await readJson<SpoolState>(join(directory, STATE_FILE), {
    baseSeq: 0,
    baseHash: GENESIS,
    replayedSeq: 0,
  });
  const head = await readJson<SpoolHead | null>(join(directory, HEAD_FILE), null);
  let seq = state.baseSeq;
  let hash = state.baseHash;
  let records = 0;
  // The head may lag the data by the last batch (a crash between the fsync of the data and the head's update).
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
      if (spoolLineHash(parsed, parsed.prev) !== parsed.hash)
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

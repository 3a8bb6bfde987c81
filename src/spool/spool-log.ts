import { createHash, createHmac } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, syncDirectory, writeDurably } from '../common/durable-file.util.js';
import { SpoolLock } from './spool-lock.js';

/** One record as a line of the spool. */
export interface SpoolEntry {
  readonly seq: number;
  /** The caller's id (a string, or a whole number), else one the spool made. */
  readonly id: string | number;
  /** ISO wall-clock time it was spooled. */
  readonly at: string;
  readonly record: unknown;
}

/** A line of the spool as it is on disk. */
type SpoolLine = SpoolEntry & { readonly prev: string; readonly hash: string };

/** Where the replay stands: what was removed, and what was replayed. */
interface SpoolState {
  /** Last record of the files already deleted, and its hash: where the chain now starts. */
  readonly baseSeq: number;
  readonly baseHash: string;
  /** Last record replayed or set aside. */
  readonly replayedSeq: number;
  /** Its hash: what the next line must be chained to; `null` when that line was unreadable. */
  readonly replayedHash?: string | null;
}

/** The last record appended, kept apart from the data so that a truncated tail is detectable. */
interface SpoolHead {
  readonly seq: number;
  readonly hash: string;
  /** `true` when the chain is an HMAC under `spool.hmacKey`. */
  readonly keyed?: boolean;
}

/** Raised when the spool cannot take a record: full, or a write or fsync failed. */
export class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
}

/** A line set aside in the quarantine file instead of being replayed. */
export interface QuarantinedLine {
  readonly seq: number | null;
  readonly id?: string | number;
  readonly at?: string;
  readonly record?: unknown;
  /** The text of a line that is not a spool line. */
  readonly text?: string;
}

/** What the replay does next: replay a verified record, or set damaged lines aside. */
export type SpoolStep =
  | { readonly kind: 'entry'; readonly entry: SpoolEntry; readonly hash: string }
  | {
      readonly kind: 'damaged';
      /** The lines set aside, in order. */
      readonly lines: readonly QuarantinedLine[];
      /** Records known to be missing (sequence numbers skipped); they cannot be named. */
      readonly missing: number;
      readonly reason: string;
      /** Where the replay stands once they are set aside. */
      readonly through: { readonly seq: number; readonly hash: string | null };
    };

const GENESIS = '0'.repeat(64);
const SEGMENT = /^segment-(\d{16})\.jsonl$/;
const STATE_FILE = 'state.json';
const HEAD_FILE = 'head.json';
/** Records the replay set aside: damaged, refused by the storage, or behind a break of the chain. */
export const QUARANTINE_FILE = 'quarantine.jsonl';
/** Owner-only: audit records may hold personal data. */
const DIR_MODE = 0o700;

const segmentName = (firstSeq: number): string => `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;

/**
 * The hash that chains a line to the one before it: SHA-256 of the line's
 * content and the previous hash, or HMAC-SHA256 under `key`.
 */
export function spoolLineHash(entry: SpoolEntry, prev: string, key: Buffer | null = null): string {
  const { seq, id, at, record } = entry;
  const content = JSON.stringify({ seq, id, at, record, prev });
  return (key === null ? createHash('sha256') : createHmac('sha256', key)).update(content).digest('hex');
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
function parseLine(line: string): SpoolLine | null {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const { seq, id, at, prev, hash } = parsed;
    const valid =
      Number.isSafeInteger(seq) &&
      (typeof id === 'string' || Number.isSafeInteger(id)) &&
      typeof at === 'string' &&
      typeof prev === 'string' &&
      typeof hash === 'string' &&
      'record' in parsed;
    return valid ? (parsed as unknown as SpoolLine) : null;
  } catch {
    return null;
  }
}

/** The complete lines of `text` (what follows the last line end is a line being written, or cut short). */
function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * The spool's files: append-only JSON Lines segments, each line chained to the
 * one before by a SHA-256 hash (an HMAC under `spool.hmacKey`); `head.json`,
 * the last line's sequence number and hash; `state.json`, how far the replay
 * has gone; `quarantine.jsonl`, what the replay set aside. The data lines are
 * the truth: the sequence continues from the last line on disk, and the head
 * is written after it. Appends are group-committed: the lines of every record
 * waiting are written and fsync'd together.
 * @internal
 */
export class SpoolLog {
  private state: SpoolState = { baseSeq: 0, baseHash: GENESIS, replayedSeq: 0, replayedHash: GENESIS };
  private lastSeq = 0;
  private lastHash = GENESIS;
  private totalBytes = 0;
  private segment: { name: string; bytes: number } | null = null;
  /** A failed write may have left part of a line that could not be cut off: cut it before the next. */
  private tailDirty = false;
  private queue: { entry: Omit<SpoolEntry, 'seq'>; done: (error?: Error) => void }[] = [];
  private writing = false;
  /** The steps of the segment being replayed, read and verified together. */
  private steps: SpoolStep[] = [];
  private readonly lock: SpoolLock;

  constructor(
    readonly directory: string,
    private readonly segmentBytes: number,
    private readonly maxBytes: number,
    private readonly key: Buffer | null = null,
    /** Told when the directory disappeared with records not replayed: `count` records are gone. */
    private readonly onDirectoryLost: (count: number, error: Error) => void = () => undefined,
  ) {
    this.lock = new SpoolLock(directory);
  }

  /** Records spooled and not yet replayed. */
  get pending(): number {
    return this.lastSeq - this.state.replayedSeq;
  }

  /** Creates the directory (owner-only) or reads where a previous run left the spool; takes the directory's lock. */
  async open(): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    // mkdir's mode passes through the umask, and an existing directory keeps its own.
    await chmod(this.directory, DIR_MODE);
    await this.lock.acquire();
    try {
      await this.load();
    } catch (error) {
      await this.lock.release();
      throw error;
    }
  }

  /** Lets the directory go to another process. */
  close(): void {
    this.lock.releaseSync();
  }

  private async load(): Promise<void> {
    const saved = await readJson<SpoolState>(join(this.directory, STATE_FILE), this.state);
    const head = await readJson<SpoolHead | null>(join(this.directory, HEAD_FILE), null);
    const segments = await segmentsOf(this.directory);
    this.totalBytes = 0;
    for (const { name } of segments) this.totalBytes += (await stat(join(this.directory, name))).size;
    // The sequence never goes back: past every line on disk, the head and the state.
    let lastSeq = Math.max(saved.baseSeq, saved.replayedSeq, head?.seq ?? 0);
    let lastHash = head !== null && head.seq === lastSeq ? head.hash : saved.baseHash;
    let replayedHash = saved.replayedHash;
    const last = segments.at(-1);
    this.segment = null;
    for (const segment of segments) {
      const newest = segment === last;
      const bytes = newest ? await this.recoverTail(segment.name) : 0;
      if (newest) this.segment = { name: segment.name, bytes };
      for (const line of completeLines(await readFile(join(this.directory, segment.name), 'utf8'))) {
        const parsed = parseLine(line);
        if (!parsed) continue;
        if (parsed.seq >= lastSeq) {
          lastSeq = parsed.seq;
          lastHash = parsed.hash;
        }
        if (replayedHash === undefined && parsed.seq === saved.replayedSeq) replayedHash = parsed.hash;
      }
    }
    if (replayedHash === undefined) replayedHash = saved.replayedSeq === saved.baseSeq ? saved.baseHash : null;
    this.state = { ...saved, replayedHash };
    this.lastSeq = lastSeq;
    this.lastHash = lastHash;
    this.steps = [];
    if (head === null || head.seq !== lastSeq || head.hash !== lastHash) await this.writeHead();
  }

  /** Cuts off a line the last process left half-written (never acknowledged); returns the file's size. */
  private async recoverTail(name: string): Promise<number> {
    const path = join(this.directory, name);
    const buffer = await readFile(path);
    const end = buffer.lastIndexOf(0x0a) + 1;
    if (end < buffer.length) {
      await truncate(path, end);
      this.totalBytes -= buffer.length - end;
    }
    return end;
  }

  private writeHead(): Promise<void> {
    const head: SpoolHead = { seq: this.lastSeq, hash: this.lastHash, ...(this.key ? { keyed: true } : {}) };
    return writeDurably(this.directory, HEAD_FILE, JSON.stringify(head));
  }

  /** Appends a record; resolves once its line is on disk (fsync'd). */
  append(entry: Omit<SpoolEntry, 'seq'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.writing) void this.flush();
    });
  }

  /**
   * What the replay does next: the oldest record not replayed yet, verified
   * against the chain, or the lines to set aside because they are damaged or
   * follow a break of the chain; `null` when nothing is pending.
   */
  async next(): Promise<SpoolStep | null> {
    if (this.state.replayedSeq >= this.lastSeq) return null;
    if (this.steps.length === 0) this.steps = await this.scan();
    return this.steps[0] ?? null;
  }

  /** Up to `count` verified records that follow `seq` in the segment being replayed, with nothing damaged between. */
  following(seq: number, count: number): { readonly entry: SpoolEntry; readonly hash: string }[] {
    const found: { entry: SpoolEntry; hash: string }[] = [];
    for (const step of this.steps) {
      if (stepEnd(step) <= seq) continue;
      if (step.kind !== 'entry' || found.length === count) break;
      found.push(step);
    }
    return found;
  }

  /**
   * Reads the pending lines of the segment holding the next record and checks
   * each against the chain. A line whose content does not match its hash, or
   * that is no spool line, is damaged: set aside alone, the chain goes on past
   * it. A line out of sequence or not chained to the one before is a break:
   * it and everything after it are set aside, since none of it can be trusted.
   */
  private async scan(): Promise<SpoolStep[]> {
    const segments = await segmentsOf(this.directory);
    const from = this.state.replayedSeq;
    let index = segments.findLastIndex((s) => s.firstSeq <= from + 1);
    if (index < 0) index = 0;
    const steps: SpoolStep[] = [];
    let expectSeq = from + 1;
    let expectPrev = this.state.replayedHash ?? null;
    for (let i = index; i < segments.length; i += 1) {
      const { name, firstSeq } = segments[i]!;
      const text = await readFile(join(this.directory, name), 'utf8');
      const lines = completeLines(text);
      // A partial last line of an older file is damage; of the newest, a line being written.
      if (i < segments.length - 1 && !text.endsWith('\n') && text !== '')
        lines.push(text.slice(text.lastIndexOf('\n') + 1));
      let lastSeen = firstSeq - 1;
      for (let n = 0; n < lines.length; n += 1) {
        const line = lines[n]!;
        const parsed = parseLine(line);
        // Lines the replay already went past.
        if (parsed ? parsed.seq <= from : lastSeen < from) {
          if (parsed) lastSeen = parsed.seq;
          continue;
        }
        const at = `${name} line ${n + 1}`;
        if (parsed === null) {
          steps.push({
            kind: 'damaged',
            lines: [{ seq: null, text: line }],
            missing: 0,
            reason: `${at} is not a spool line`,
            through: { seq: expectSeq, hash: null },
          });
          lastSeen = expectSeq;
          expectSeq += 1;
          expectPrev = null;
          continue;
        }
        lastSeen = parsed.seq;
        const inSequence = parsed.seq === expectSeq && (expectPrev === null || parsed.prev === expectPrev);
        if (!inSequence) {
          const why =
            parsed.seq !== expectSeq
              ? `sequence ${parsed.seq} where ${expectSeq} was due`
              : 'not chained to the line before it';
          return [...steps, await this.breakAt(segments, i, n, `${at}: ${why}`, expectSeq)];
        }
        const entry: SpoolEntry = { seq: parsed.seq, id: parsed.id, at: parsed.at, record: parsed.record };
        if (spoolLineHash(entry, parsed.prev, this.key) !== parsed.hash) {
          steps.push({
            kind: 'damaged',
            lines: [entry],
            missing: 0,
            reason: `${at}: its content does not match its hash`,
            through: { seq: parsed.seq, hash: parsed.hash },
          });
        } else {
          steps.push({ kind: 'entry', entry, hash: parsed.hash });
        }
        expectSeq = parsed.seq + 1;
        expectPrev = parsed.hash;
      }
      if (steps.length > 0) return steps;
    }
    if (steps.length === 0 && this.state.replayedSeq < this.lastSeq) {
      // Records the spool counts are not in its files: removed from outside.
      const missing = this.lastSeq - expectSeq + 1;
      return [
        {
          kind: 'damaged',
          lines: [],
          missing,
          reason: `records ${expectSeq} to ${this.lastSeq} are missing from the spool's files`,
          through: { seq: this.lastSeq, hash: this.lastHash },
        },
      ];
    }
    return steps;
  }

  /** Everything from line `n` of segment `i` to the end of the spool, set aside after a break of the chain. */
  private async breakAt(
    segments: readonly { name: string }[],
    i: number,
    n: number,
    reason: string,
    firstDue: number,
  ): Promise<SpoolStep> {
    const lines: QuarantinedLine[] = [];
    for (let s = i; s < segments.length; s += 1) {
      const text = await readFile(join(this.directory, segments[s]!.name), 'utf8');
      const all = completeLines(text);
      for (const line of s === i ? all.slice(n) : all) {
        const parsed = parseLine(line);
        lines.push(
          parsed ? { seq: parsed.seq, id: parsed.id, at: parsed.at, record: parsed.record } : { seq: null, text: line },
        );
      }
    }
    // Sequence numbers due and in none of the lines: records removed.
    const present = new Set(lines.flatMap((line) => (line.seq === null ? [] : [line.seq])));
    let missing = 0;
    for (let seq = firstDue; seq <= this.lastSeq; seq += 1) if (!present.has(seq)) missing += 1;
    missing = Math.max(0, missing - lines.filter((line) => line.seq === null).length);
    return {
      kind: 'damaged',
      lines,
      missing,
      reason: `the chain breaks at ${reason}`,
      through: { seq: this.lastSeq, hash: this.lastHash },
    };
  }

  /**
   * Appends lines to the quarantine file (owner-only) and fsyncs it. The caller
   * then moves the replay past them ({@link passed}): a crash in between sets
   * them aside twice, never loses them.
   */
  async quarantine(lines: readonly QuarantinedLine[], reason: string, at: string): Promise<void> {
    if (lines.length === 0) return;
    const text = lines.map((line) => `${JSON.stringify({ ...line, reason, quarantinedAt: at })}\n`).join('');
    const path = join(this.directory, QUARANTINE_FILE);
    const file = await open(path, 'a', PRIVATE_FILE_MODE);
    try {
      await file.appendFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDirectory(this.directory);
  }

  /** Marks `entry` replayed, durably, and deletes the files whose records are all replayed. */
  replayed(step: { readonly entry: SpoolEntry; readonly hash: string }): Promise<void> {
    return this.passed({ seq: step.entry.seq, hash: step.hash });
  }

  /** Moves the replay past `through` (replayed, or set aside), durably, and deletes the files wholly behind it. */
  async passed(through: { readonly seq: number; readonly hash: string | null }): Promise<void> {
    // Steps behind the new position are done.
    while (this.steps.length > 0 && stepEnd(this.steps[0]!) <= through.seq) this.steps.shift();
    let { baseSeq, baseHash } = this.state;
    const segments = await segmentsOf(this.directory);
    for (let i = 0; i < segments.length; i += 1) {
      const { name } = segments[i]!;
      const newest = i === segments.length - 1;
      if (!newest && segments[i + 1]!.firstSeq > through.seq + 1) break;
      const path = join(this.directory, name);
      if (newest) {
        // Checked and given up in one turn, so no append can land in the file about to go: the next opens a new one.
        if (this.writing || this.lastSeq !== through.seq || (this.segment !== null && this.segment.name !== name))
          break;
        this.segment = null;
        baseSeq = through.seq;
        baseHash = through.hash ?? this.lastHash;
      } else {
        const lastLine = parseLine(completeLines(await readFile(path, 'utf8')).at(-1) ?? '');
        baseSeq = segments[i + 1]!.firstSeq - 1;
        baseHash = lastLine?.seq === baseSeq ? lastLine.hash : (through.hash ?? this.lastHash);
      }
      // The state names the new start of the chain before the file goes: a crash in between loses nothing.
      await writeDurably(
        this.directory,
        STATE_FILE,
        JSON.stringify({ baseSeq, baseHash, replayedSeq: through.seq, replayedHash: through.hash }),
      );
      this.totalBytes -= (await stat(path)).size;
      await unlink(path);
    }
    this.state = { baseSeq, baseHash, replayedSeq: through.seq, replayedHash: through.hash };
    await writeDurably(this.directory, STATE_FILE, JSON.stringify(this.state));
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
          const next = spoolLineHash(entry, hash, this.key);
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
        await this.ensureDirectory();
        await this.write(text, this.lastSeq + 1);
      } catch (error) {
        const failure = new SpoolWriteError((error as Error).message);
        for (const item of kept) item.done(failure);
        continue;
      }
      // The lines are on disk: they are the truth, whatever happens to the head now.
      this.lastSeq = seq;
      this.lastHash = hash;
      // The head is a check for a tail cut off, no part of the record: a full disk here loses nothing, it lags.
      await this.writeHead().catch(() => undefined);
      for (const item of kept) item.done();
    }
    this.writing = false;
  }

  /**
   * The directory removed while the process runs (a cleanup job, an operator):
   * made again, owner-only, if the spool's `directory` is still there; its
   * records not replayed are gone, and said so. A missing `directory` (a
   * volume gone) is not made again: the write fails and the spool alerts.
   */
  private async ensureDirectory(): Promise<void> {
    try {
      await stat(this.directory);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await mkdir(this.directory, { mode: DIR_MODE });
    await chmod(this.directory, DIR_MODE);
    await this.lock.acquire(true);
    const gone = this.pending;
    this.totalBytes = 0;
    this.segment = null;
    this.tailDirty = false;
    this.steps = [];
    this.state = {
      baseSeq: this.lastSeq,
      baseHash: this.lastHash,
      replayedSeq: this.lastSeq,
      replayedHash: this.lastHash,
    };
    await writeDurably(this.directory, STATE_FILE, JSON.stringify(this.state));
    await this.writeHead();
    if (gone > 0)
      this.onDirectoryLost(gone, new Error(`${this.directory} was removed with ${gone} records not replayed`));
  }

  private async write(text: string, firstSeq: number): Promise<void> {
    const bytes = Buffer.byteLength(text);
    const rotate = this.segment === null || (this.segment.bytes > 0 && this.segment.bytes + bytes > this.segmentBytes);
    if (rotate) this.segment = { name: segmentName(firstSeq), bytes: 0 };
    const segment = this.segment!;
    const path = join(this.directory, segment.name);
    const file = await open(path, 'a', PRIVATE_FILE_MODE);
    try {
      if (this.tailDirty) {
        await file.truncate(segment.bytes);
        this.tailDirty = false;
      }
      await file.appendFile(text);
      await file.sync();
    } catch (error) {
      // What a failed write left behind is cut off, so the next line starts clean; if that fails too, the next write cuts it.
      await file
        .truncate(segment.bytes)
        .then(
          () => file.sync(),
          () => {
            this.tailDirty = true;
          },
        )
        .catch(() => {
          this.tailDirty = true;
        });
      throw error;
    } finally {
      await file.close();
    }
    if (rotate) await syncDirectory(this.directory);
    segment.bytes += bytes;
    this.totalBytes += bytes;
  }
}

function stepEnd(step: SpoolStep): number {
  return step.kind === 'entry' ? step.entry.seq : step.through.seq;
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

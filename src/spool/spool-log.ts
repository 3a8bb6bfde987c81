import { chmod, mkdir, open, readFile, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryLock } from '../common/directory-lock.util.js';
import { PRIVATE_FILE_MODE, syncDirectory, writeDurably } from '../common/durable-file.util.js';
import { completeLines, GENESIS } from '../common/hash-chain.util.js';
import { parseLine, type SpoolEntry, spoolLineHash } from './spool-chain.js';
import type { SpoolHeadRecorder } from './spool-head-recorder.js';
import { scanPending, type SpoolStep, stepEnd } from './spool-scanner.js';
import {
  DIR_MODE,
  HEAD_FILE,
  readJson,
  segmentName,
  segmentsOf,
  type SpoolHead,
  type SpoolState,
  STATE_FILE,
} from './spool-segments.js';

/** Raised when the spool cannot take a record: full, or a write or fsync failed. */
class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * The spool's files: append-only JSON Lines segments, each line chained to the
 * one before by a SHA-256 hash (an HMAC under `spool.hmacKey`); `head.json`,
 * the last line's sequence number and hash; `state.json`, how far the replay
 * has gone (what it set aside goes to the quarantine file, apart from these:
 * see `spool-quarantine.ts`). The data lines are
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
  /** The last write loop started. */
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  /** The steps of the segment being replayed, read and verified together. */
  private steps: SpoolStep[] = [];
  private readonly lock: DirectoryLock;

  constructor(
    readonly directory: string,
    private readonly segmentBytes: number,
    private readonly maxBytes: number,
    private readonly key: Buffer | null = null,
    /** Records the head in the evidence ledger; `null` without the `ledger` option. */
    private readonly recorder: SpoolHeadRecorder | null = null,
    /** Told when the directory disappeared with records not replayed: `count` records are gone. */
    private readonly onDirectoryLost: (count: number, error: Error) => void = () => undefined,
  ) {
    this.lock = new DirectoryLock(
      directory,
      (holder, lockFile) =>
        `spool.directory: ${directory} is in use by ${holder} (lock file ${lockFile}). ` +
        'Processes must not share a spool directory: give each its own spool.directory ' +
        '(with PM2 or node:cluster, add the worker id to it). If no such process runs, remove the lock file.',
    );
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

  /**
   * Takes no more records, and lets the directory go to another process once
   * the records being written are on disk: a process taking it before then
   * would write its own records under their sequence numbers.
   */
  close(): void {
    this.closed = true;
    this.lock.releaseAfter(this.writing ? this.flushing : null);
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
    this.recorder?.opened(this.state.replayedSeq);
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
      // Once the last write of a closed spool has ended, the directory may be another process's.
      if (this.closed && !this.writing)
        return reject(new SpoolWriteError('the spool is closed (the application is shutting down)'));
      this.queue.push({ entry, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.writing) this.flushing = this.flush();
    });
  }

  /**
   * What the replay does next: the oldest record not replayed yet, verified
   * against the chain, or the lines to set aside because they are damaged or
   * follow a break of the chain; `null` when nothing is pending.
   */
  async next(): Promise<SpoolStep | null> {
    if (this.state.replayedSeq >= this.lastSeq) return null;
    if (this.steps.length === 0)
      this.steps = await scanPending(
        this.directory,
        () => ({ ...this.state, lastSeq: this.lastSeq, lastHash: this.lastHash }),
        this.key,
      );
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

  /** Marks `entry` replayed, durably, and deletes the files whose records are all replayed. */
  replayed(step: { readonly entry: SpoolEntry; readonly hash: string }): Promise<void> {
    return this.passed({ seq: step.entry.seq, hash: step.hash });
  }

  /**
   * Moves the replay past `through` (replayed, or set aside), durably, and
   * deletes the files wholly behind it; the ledger holds the new position first.
   */
  async passed(through: { readonly seq: number; readonly hash: string | null }): Promise<void> {
    const read = this.steps.at(-1);
    await this.recorder?.beforeReplayed(through.seq, read === undefined ? through.seq : stepEnd(read), {
      seq: this.lastSeq,
      hash: this.lastHash,
    });
    // Closed meanwhile: the directory may be another process's now (a record replayed is replayed again, under its id).
    if (this.closed) return;
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

  /** The replay stopped, or emptied the spool: the ledger records where it stands. */
  replayStopped(): void {
    this.recorder?.settled({ seq: this.lastSeq, hash: this.lastHash }, this.state.replayedSeq);
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
      this.recorder?.appended({ seq, hash });
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
    this.recorder?.opened(this.lastSeq);
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

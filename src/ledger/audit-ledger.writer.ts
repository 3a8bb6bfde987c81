import { chmod, mkdir, open, readFile, truncate, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  ledgerBroken,
  ledgerDirectoryInUse,
  ledgerNotFlushed,
  ledgerPruneFailed,
  ledgerQueueFull,
  ledgerRecordUnwritable,
  ledgerUnwritable,
  ledgerWritable,
} from './ledger.messages.js';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { DirectoryLock } from '../common/directory-lock.util.js';
import { PRIVATE_FILE_MODE, syncDirectory } from '../common/durable-file.util.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import { completeLines, GENESIS } from '../common/hash-chain.util.js';
import type { AuditLedgerWriter, LedgerRecord } from './ledger-entry.interface.js';
import { ledgerFileName, ledgerLineText, parseLedgerLine } from './ledger-line.js';
import { ledgerFiles } from './ledger-reader.js';
import type { ResolvedLedgerOptions } from './ledger.options.js';
import { type AuditLedgerVerification, verifyAuditLedger } from './ledger-verifier.js';

/** Where the lines go besides the files: the fleet's Redis Stream under `cluster`. */
export interface LedgerMirror {
  /** Takes the lines just written (each a JSON text without its line end); never throws. */
  mirror(lines: readonly string[]): void;
}

/** Records waiting to be written past which a new one is dropped (and counted): about 10 MB of memory. */
export const MAX_QUEUED_RECORDS = 10_000;
/** Records framed and written in one go, with one fsync. */
const MAX_BATCH = 1_000;
/** The first wait before a failed write is tried again; it doubles up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
const DAY_MS = 86_400_000;
const DIR_MODE = 0o700;

interface Queued {
  readonly record: LedgerRecord;
  readonly at: number;
  /** Told whether the record reached the disk, for {@link AuditLedger.appendSynced}. */
  readonly synced?: (written: boolean) => void;
}

/**
 * The evidence ledger's writer: appends records as JSON Lines, one file per
 * UTC day, each line chained to the one before by a SHA-256 hash and numbered,
 * the chain and the numbers running on across the files. An append returns at
 * once: the records wait in a queue, are written in order and fsync'd once per
 * batch. A failed write (a full disk) is logged once and tried again with
 * backoff, the records kept; past {@link MAX_QUEUED_RECORDS} waiting, new ones
 * are dropped, and their count recorded once the ledger writes again.
 */
export class AuditLedger implements AuditLedgerWriter, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new AuditAlertLogger();
  private readonly lock: DirectoryLock;
  private readonly replica = `${hostname()}:${process.pid}`;
  private readonly directory: string;
  private queue: Queued[] = [];
  private lastSeq = 0;
  private lastHash = GENESIS;
  /** The file being appended to: never one of an earlier day than the last line's, whatever the clock does. */
  private current: string | null = null;
  private opened = false;
  private closed = false;
  private writing = false;
  /** The last write loop started; it ends after the batch under way once the ledger closes. */
  private writes: Promise<void> = Promise.resolve();
  private retry: AuditAlertTimer | null = null;
  private retryMs = FIRST_RETRY_MS;
  /** The error of the failing writes, logged once; `null` while they succeed. */
  private failing: string | null = null;
  private dropped: { count: number; from: number; to: number } | null = null;
  private idle: (() => void)[] = [];

  private readonly retentionDays: number;

  /**
   * @param shutdownTimeoutMs How long shutdown waits for the records still queued.
   * @param onBroken Told, once the ledger is open, when {@link verifyAuditLedger} found a break in it.
   */
  constructor(
    options: ResolvedLedgerOptions,
    private readonly service: string,
    private readonly clock: AuditAlertClock,
    private readonly shutdownTimeoutMs: number,
    private readonly mirror: LedgerMirror | null = null,
    private readonly onBroken: (found: AuditLedgerVerification) => void = () => undefined,
  ) {
    this.directory = options.directory;
    this.retentionDays = options.retentionDays;
    this.lock = new DirectoryLock(this.directory, (holder, lockFile) =>
      ledgerDirectoryInUse(this.directory, holder, lockFile),
    );
  }

  /** Opens the ledger before the application starts: a second process on the directory stops the bootstrap. */
  async onModuleInit(): Promise<void> {
    await this.open();
  }

  /** After the dispatcher's drain: writes what its last deliveries appended. */
  onApplicationShutdown(): Promise<void> {
    return this.close(this.shutdownTimeoutMs);
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  append(record: LedgerRecord): void {
    this.enqueue(record);
  }

  appendSynced(record: LedgerRecord): Promise<boolean> {
    return new Promise((resolve) => this.enqueue(record, resolve));
  }

  private enqueue(record: LedgerRecord, synced?: (written: boolean) => void): void {
    if (this.closed) return synced?.(false);
    const at = this.clock.wallNow();
    if (this.queue.length >= MAX_QUEUED_RECORDS) {
      if (this.dropped === null) {
        this.dropped = { count: 0, from: at, to: at };
        this.logger.error(ledgerQueueFull(this.directory, MAX_QUEUED_RECORDS));
      }
      this.dropped.count += 1;
      this.dropped.to = at;
      return synced?.(false);
    }
    this.queue.push(synced === undefined ? { record, at } : { record, at, synced });
    this.schedule();
  }

  /**
   * Creates the directory (0700) or continues the ledger in it: takes its lock,
   * verifies it (a break is recorded and reported), cuts off a line the last
   * process left half-written, and deletes the files past retention.
   * @throws DirectoryLockedError when another process holds the directory.
   */
  async open(): Promise<AuditLedgerVerification> {
    await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    // mkdir's mode passes through the umask, and an existing directory keeps its own.
    await chmod(this.directory, DIR_MODE);
    await this.lock.acquire();
    let found: AuditLedgerVerification;
    try {
      found = await verifyAuditLedger(this.directory);
      await this.load();
    } catch (error) {
      await this.lock.release();
      throw error;
    }
    await this.prune();
    if (!found.ok) {
      const { file, line } = found.firstBadLine!;
      this.logger.error(ledgerBroken(this.directory, file, line, found.reason!));
      this.queue.unshift({
        record: { kind: 'ledger-break', file, line, reason: found.reason! },
        at: this.clock.wallNow(),
      });
      this.onBroken(found);
    }
    this.opened = true;
    this.schedule();
    return found;
  }

  /** Resolves once every record appended so far is written (or dropped), or the ledger is closed. */
  flushed(): Promise<void> {
    if (this.queue.length === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Writes what waits, for at most `timeoutMs`, then lets the directory go to another process once no write is under way. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    if (timeoutMs > 0) {
      // Past the time, what still waits is logged below as not written.
      await withTimeout(this.flushed(), timeoutMs, this.clock, () => new Error('ledger flush timed out')).catch(
        () => undefined,
      );
    }
    this.closed = true;
    if (this.retry !== null) this.clock.clearTimer(this.retry);
    this.retry = null;
    if (this.queue.length > 0) this.logger.error(ledgerNotFlushed(this.directory, this.queue.length));
    for (const { synced } of this.queue) synced?.(false);
    this.settleIdle();
    this.lock.releaseAfter(this.writing ? this.writes : null);
  }

  private schedule(): void {
    if (this.opened && !this.closed && !this.writing && this.retry === null) this.writes = this.flush();
  }

  /** Continues the chain from the last complete line on disk, cutting off what follows it. */
  private async load(): Promise<void> {
    const files = await ledgerFiles(this.directory);
    for (let i = files.length - 1; i >= 0; i -= 1) {
      const path = join(this.directory, files[i]!);
      const text = await readFile(path, 'utf8');
      if (i === files.length - 1) {
        // A line being written when the last process died: never acknowledged, and the break is recorded.
        const end = text.lastIndexOf('\n') + 1;
        if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)));
        this.current = files[i]!;
      }
      const lines = completeLines(text);
      for (let j = lines.length - 1; j >= 0; j -= 1) {
        const line = parseLedgerLine(lines[j]!);
        if (line === null) continue;
        this.lastSeq = line.seq;
        this.lastHash = line.hash;
        return;
      }
    }
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.slice(0, MAX_BATCH);
        const name = this.fileFor(batch[0]!.at);
        let seq = this.lastSeq;
        let hash = this.lastHash;
        let text = '';
        const lines: string[] = [];
        let taken = 0;
        const unwritable = new Set<Queued>();
        for (const queued of batch) {
          const { record, at } = queued;
          // A record of a later day starts that day's file, in the next go.
          if (this.fileFor(at) !== name) break;
          taken += 1;
          try {
            const framed = ledgerLineText(
              { seq: seq + 1, at: new Date(at).toISOString(), service: this.service, replica: this.replica },
              record,
              hash,
            );
            seq += 1;
            hash = framed.hash;
            text += framed.text;
            lines.push(framed.text.slice(0, -1));
          } catch (error) {
            unwritable.add(queued);
            this.logger.error(ledgerRecordUnwritable(record.kind, errorText(error)));
          }
        }
        try {
          if (text !== '') await this.write(name, text);
        } catch (error) {
          this.failed(error);
          return;
        }
        for (const queued of this.queue.splice(0, taken)) queued.synced?.(!unwritable.has(queued));
        this.lastSeq = seq;
        this.lastHash = hash;
        if (lines.length > 0) this.mirror?.mirror(lines);
        this.succeeded(taken);
      }
    } finally {
      this.writing = false;
      if (this.queue.length === 0) this.settleIdle();
    }
  }

  /** The file of a record appended at `at`: its UTC day's, or the current one when that is later. */
  private fileFor(at: number): string {
    const name = ledgerFileName(at);
    return this.current !== null && this.current > name ? this.current : name;
  }

  private async write(name: string, text: string): Promise<void> {
    const path = join(this.directory, name);
    const file = await open(path, 'a', PRIVATE_FILE_MODE);
    const { size } = await file.stat();
    try {
      await file.appendFile(text);
      await file.sync();
    } catch (error) {
      // What a failed write left is cut off, so the retry starts on a line end.
      await file.truncate(size).catch(() => undefined);
      throw error;
    } finally {
      await file.close();
    }
    if (name !== this.current) {
      const first = this.current === null;
      this.current = name;
      await syncDirectory(this.directory);
      // A new day: the files past retention go (at open, they went already).
      if (!first) await this.prune();
    }
  }

  private failed(error: unknown): void {
    const reason = errorText(error);
    if (this.failing === null) this.logger.error(ledgerUnwritable(this.directory, reason, this.queue.length));
    this.failing = reason;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retry = this.clock.setTimer(() => {
      this.retry = null;
      this.schedule();
    }, delay);
  }

  private succeeded(written: number): void {
    this.retryMs = FIRST_RETRY_MS;
    const failure = this.failing;
    if (failure !== null) {
      this.logger.log(ledgerWritable(this.directory, written));
      this.failing = null;
    }
    const { dropped } = this;
    if (dropped !== null && this.queue.length < MAX_QUEUED_RECORDS) {
      this.dropped = null;
      this.queue.push({
        record: {
          kind: 'ledger-dropped',
          count: dropped.count,
          from: new Date(dropped.from).toISOString(),
          to: new Date(dropped.to).toISOString(),
          reason: failure ?? 'the queue of records waiting to be written was full',
        },
        at: this.clock.wallNow(),
      });
    }
  }

  /** Deletes the oldest files while their last line is older than `retentionDays`; never the current file. */
  private async prune(): Promise<void> {
    const horizon = this.clock.wallNow() - this.retentionDays * DAY_MS;
    try {
      for (const name of await ledgerFiles(this.directory)) {
        if (name === this.current) break;
        const path = join(this.directory, name);
        const last = completeLines(await readFile(path, 'utf8'))
          .map(parseLedgerLine)
          .findLast((line) => line !== null);
        const lastAt = last ? Date.parse(last.at) : Number.NaN;
        if (!(lastAt < horizon)) break;
        await unlink(path);
      }
      await syncDirectory(this.directory);
    } catch (error) {
      this.logger.warn(ledgerPruneFailed(this.directory, errorText(error)));
    }
  }

  private settleIdle(): void {
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}

import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  stateEntryIgnored,
  stateFileIgnored,
  stateFileUnwritable,
  stateFileWritable,
} from '../audit-alert.messages.js';
import { invalidOutageSnapshot, type OutageSnapshot } from '../tracker/outage-snapshot.js';
import { errorText } from '../common/error-text.util.js';
import { writeDurably } from '../common/durable-file.util.js';
import type { ResolvedStateOptions } from './state.options.js';

/** Names the file's format, so that a file of something else is never taken for one. */
const FORMAT = 'nestjs-audit-alert/state';
const VERSION = 1;

/**
 * The `state` file of a single instance: the open outage of each monitor, so
 * that the next process resumes it. Read once, synchronously, when the module
 * is created (before any write can be tracked); written on transitions only,
 * never on the write path, coalesced so that a burst of transitions makes one
 * write. Nothing about it can stop the application: a file that cannot be
 * read starts clean, a file that cannot be written is logged.
 */
export class AuditAlertStateFile {
  private readonly logger = new AuditAlertLogger();
  /** The open outage of each monitor, as last kept. */
  private readonly outages = new Map<string, OutageSnapshot>();
  /** The silences' own section, opaque here (the silences check it); `undefined` until read or kept. */
  private silences: unknown;
  /** The gap records not yet written of each monitor, opaque here: the gap room reads and checks them. */
  private readonly gapRecords = new Map<string, readonly unknown[]>();
  private dirty = false;
  private writing: Promise<void> | null = null;
  private failing = false;
  private closed = false;

  constructor(
    private readonly options: ResolvedStateOptions,
    private readonly serviceName: string,
  ) {}

  /** The open outages an earlier process left, by monitor; empty when there is no usable file. */
  load(): Map<string, OutageSnapshot> {
    const { file } = this.options;
    const saved = new Map<string, OutageSnapshot>();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(stateFileIgnored(file, error instanceof SyntaxError ? 'not JSON' : errorText(error)));
      }
      return saved;
    }
    const content = parsed as {
      format?: unknown;
      version?: unknown;
      serviceName?: unknown;
      monitors?: unknown;
      silences?: unknown;
      gapRecords?: unknown;
    };
    if (typeof parsed !== 'object' || parsed === null || content.format !== FORMAT) {
      this.logger.warn(stateFileIgnored(file, 'not a state file of nestjs-audit-alert'));
    } else if (content.version !== VERSION) {
      this.logger.warn(stateFileIgnored(file, `format version ${String(content.version)}, not ${VERSION}`));
    } else if (content.serviceName !== this.serviceName) {
      this.logger.warn(stateFileIgnored(file, `written by service ${JSON.stringify(content.serviceName)}`));
    } else if (typeof content.monitors !== 'object' || content.monitors === null) {
      this.logger.warn(stateFileIgnored(file, 'it lists no monitors'));
    } else {
      // Absent from files written before silences were kept.
      this.silences ??= content.silences;
      for (const [monitor, snapshot] of Object.entries(content.monitors)) {
        const invalid = invalidOutageSnapshot(snapshot);
        if (invalid === null) saved.set(monitor, snapshot as OutageSnapshot);
        else this.logger.warn(stateEntryIgnored(file, monitor, invalid));
      }
      this.loadGapRecords(content.gapRecords);
    }
    return saved;
  }

  /** The gap records of `monitor` the file held when {@link load} read it; unchecked. */
  gapRecordsOf(monitor: string): readonly unknown[] {
    return this.gapRecords.get(monitor) ?? [];
  }

  /**
   * Keeps `records` as the gap records of `monitor` still to write; the file is written soon, coalesced.
   * @returns A promise settled once a write that holds them has ended (written or logged as failed).
   */
  keepGapRecords(monitor: string, records: readonly unknown[]): Promise<void> {
    if (records.length === 0) this.gapRecords.delete(monitor);
    else this.gapRecords.set(monitor, records);
    this.dirty = true;
    this.writing ??= this.writeWhileDirty();
    return this.writing;
  }

  /** Keeps `outage` as the open outage of `monitor` (`null`: none); the file is written soon, coalesced. */
  keep(monitor: string, outage: OutageSnapshot | null): void {
    if (this.closed) return;
    if (outage === null) this.outages.delete(monitor);
    else this.outages.set(monitor, outage);
    this.dirty = true;
    this.writing ??= this.writeWhileDirty();
  }

  /** What the silences kept in the file an earlier process wrote, as it wrote it; read by {@link load}. */
  savedSilences(): unknown {
    return this.silences;
  }

  /** Keeps `section` as the silences' part of the file (their silences and held alerts); written soon, coalesced. */
  keepSilences(section: unknown): void {
    if (this.closed) return;
    this.silences = section;
    this.dirty = true;
    this.writing ??= this.writeWhileDirty();
  }

  /**
   * Writes what is pending, then nothing more: called at shutdown, once the
   * deliveries in flight have drained. An alert still undelivered then is not
   * recorded, so the next process sends it again.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private loadGapRecords(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) return;
    for (const [monitor, records] of Object.entries(raw)) {
      if (Array.isArray(records) && records.length > 0) this.gapRecords.set(monitor, records);
    }
  }

  private async writeWhileDirty(): Promise<void> {
    // The transitions of one turn (several monitors, an event and its state) make one write.
    await Promise.resolve();
    while (this.dirty) {
      this.dirty = false;
      await this.write();
    }
    this.writing = null;
  }

  private async write(): Promise<void> {
    const monitors = Object.fromEntries(this.outages);
    const content = {
      format: FORMAT,
      version: VERSION,
      serviceName: this.serviceName,
      monitors,
      ...(this.silences === undefined ? {} : { silences: this.silences }),
      // Absent when none waits: files written before gap records existed read the same.
      ...(this.gapRecords.size === 0 ? {} : { gapRecords: Object.fromEntries(this.gapRecords) }),
    };
    const { file } = this.options;
    try {
      await writeDurably(dirname(file), basename(file), `${JSON.stringify(content, null, 2)}\n`);
      if (this.failing) this.logger.log(stateFileWritable(file));
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(stateFileUnwritable(file, errorText(error)));
      this.failing = true;
    }
  }
}

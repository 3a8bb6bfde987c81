import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurably } from '../common/durable-file.util.js';
import { type GapRecordStore, isPendingGapRecord, type PendingGapRecord } from './gap-record-store.interface.js';

/** Names the file's format, so that a file of something else is never taken for one. */
const FORMAT = 'nestjs-audit-alert/gap-records';

/**
 * The gap records of one monitor with a spool, in a small file of its spool's
 * directory (`<spool.directory>/<monitor>/gap-records.json`, 0600), replaced
 * atomically and fsync'd on every change: a handful of writes per outage.
 */
export class FileGapRecordStore implements GapRecordStore {
  static readonly FILE = 'gap-records.json';
  readonly where: string;
  private readonly gaps = new Map<string, PendingGapRecord>();
  /** Writes one after the other, so that an older content never lands last. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly directory: string) {
    this.where = join(directory, FileGapRecordStore.FILE);
  }

  async load(): Promise<PendingGapRecord[]> {
    let text: string;
    try {
      text = await readFile(this.where, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const content = JSON.parse(text) as { format?: unknown; gaps?: unknown };
    if (content.format !== FORMAT || !Array.isArray(content.gaps)) {
      throw new Error(`${this.where} is not a gap record file of nestjs-audit-alert`);
    }
    const gaps = content.gaps.filter(isPendingGapRecord);
    for (const gap of gaps) if (!this.gaps.has(gap.outageId)) this.gaps.set(gap.outageId, gap);
    return gaps;
  }

  put(gap: PendingGapRecord): Promise<void> {
    this.gaps.set(gap.outageId, gap);
    return this.write();
  }

  remove(outageId: string): Promise<void> {
    this.gaps.delete(outageId);
    return this.write();
  }

  private write(): Promise<void> {
    const content = `${JSON.stringify({ format: FORMAT, gaps: [...this.gaps.values()] })}\n`;
    const written = this.writing.then(() => writeDurably(this.directory, FileGapRecordStore.FILE, content));
    this.writing = written.catch(() => undefined);
    return written;
  }
}

import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditStorageMonitor,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type AuditSpoolOptions,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import type { AuditAlertDispatcher } from '../../src/dispatch/audit-alert.dispatcher.js';
import type { AuditLedgerWriter } from '../../src/ledger/ledger-entry.interface.js';
import { LocalAlertSink } from '../../src/sink/local-alert.sink.js';
import { ManualClock } from '../support/manual-clock.js';

export const THRESHOLD_MS = 1_000;
export const WRITE_TIMEOUT_MS = 2_000;

/** A storage the test breaks and mends; replays land in `rows` too. */
export class Storage {
  readonly rows: { id: string; record: unknown }[] = [];
  mode: 'up' | 'down' | 'hang' = 'up';
  /** Refuses one write (by id) with its own error, whatever the mode; `null` lets it through. */
  refuse: (id: string) => Error | null = () => null;
  /** Milliseconds of the manual clock each write takes. */
  delayMs = 0;
  clock: ManualClock | null = null;

  insert(record: unknown, id: string): Promise<void> {
    const refused = this.refuse(id);
    if (refused) return Promise.reject(refused);
    if (this.mode === 'down') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (this.delayMs > 0 && this.clock) {
      return new Promise((resolve) =>
        this.clock!.setTimer(() => {
          this.rows.push({ id, record });
          resolve();
        }, this.delayMs),
      );
    }
    this.rows.push({ id, record });
    return Promise.resolve();
  }
}

export interface SpoolHarness {
  readonly clock: ManualClock;
  readonly events: AuditAlertEvent[];
  readonly monitor: AuditStorageMonitor;
  readonly storage: Storage;
  /** The monitor's spool directory, `<directory>/default`. */
  readonly dir: string;
  /** A write of record `n` with the caller id `r-<n>`: resolves once stored or spooled. */
  write(n: number): Promise<unknown>;
  /** The events of one type. */
  of(type: string): AuditAlertEvent[];
}

/** Lets the spool's file work (real I/O) finish. */
export const io = (ms = 2): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A monitor with a spool in a fresh directory (or `spool.directory`), a manual clock, a storage the test drives. */
export async function spoolHarness(
  spool: Partial<AuditSpoolOptions> = {},
  options: AuditAlertModuleOptions = {},
  storage = new Storage(),
  /** How each event's deliveries settle: at once, unless a test holds them. */
  deliver: (event: AuditAlertEvent) => Promise<unknown> = () => Promise.resolve(),
  /** The evidence ledger the spool records its head in; none by default. */
  ledger: AuditLedgerWriter | null = null,
): Promise<SpoolHarness> {
  const directory = spool.directory ?? (await mkdtemp(join(tmpdir(), 'audit-spool-')));
  const clock = new ManualClock();
  storage.clock = clock;
  const events: AuditAlertEvent[] = [];
  const dispatcher = {
    dispatch: (event: AuditAlertEvent) => {
      events.push(event);
      return deliver(event).then(() => []);
    },
  } as unknown as AuditAlertDispatcher;
  const resolved = resolveAuditAlertOptions({
    thresholdMs: THRESHOLD_MS,
    writeTimeoutMs: WRITE_TIMEOUT_MS,
    ...options,
    spool: {
      replay: (record: unknown, { id }: { id: string }) => storage.insert(record, id),
      replayPerSecond: 10,
      ...spool,
      directory,
    },
  });
  const monitor = new AuditStorageMonitor(
    resolved.monitors[0]!,
    clock,
    new LocalAlertSink('default', dispatcher, null, null),
    null,
    null,
    ledger,
  );
  monitor.start();
  const deadline = Date.now() + 5_000;
  while (!monitor.spool!.healthy && events.length === 0) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the spool to open');
    await io();
  }
  return {
    clock,
    events,
    monitor,
    storage,
    dir: join(directory, 'default'),
    write: (n) => {
      const record = { action: 'transfer', n };
      return monitor.track(() => storage.insert(record, `r-${n}`), { record, id: `r-${n}` });
    },
    of: (type) => events.filter((e) => e.type === type),
  };
}

/** Moves the manual clock by `stepMs` until `done`, letting the file work run between steps. */
export async function advanceUntil(h: SpoolHarness, done: () => boolean, what: string, stepMs = 100): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await io();
    h.clock.advance(stepMs);
  }
  await io(10);
}

/** Ends the outage the test began (the storage up, a write succeeding past the threshold) and drains the spool. */
export async function recoverAndDrain(h: SpoolHarness, n: number): Promise<void> {
  h.clock.advance(THRESHOLD_MS);
  h.storage.mode = 'up';
  await h.write(n);
  await advanceUntil(h, () => h.monitor.spool!.pending === 0, 'the drain');
}

/** Every line of the spool's segments, parsed. */
export async function spooledLines(dir: string): Promise<Record<string, unknown>[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl') && n.startsWith('segment-')).sort();
  const lines: Record<string, unknown>[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return lines;
}

/** The quarantine file's lines, parsed; none when it is not there. */
export async function quarantined(dir: string): Promise<Record<string, unknown>[]> {
  try {
    const text = await readFile(join(dir, 'quarantine.jsonl'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

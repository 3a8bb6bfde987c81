import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, realpathSync } from 'node:fs';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditAlertConfigError,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type AuditSpoolOptions,
  type StorageRecoveredEvent,
  verifyAuditSpool,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import type { AuditAlertDispatcher } from '../../src/dispatch/audit-alert.dispatcher.js';
import { LocalAlertSink } from '../../src/sink/local-alert.sink.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { flush, ManualClock } from '../support/manual-clock.js';

const THRESHOLD_MS = 1_000;
const WRITE_TIMEOUT_MS = 2_000;

/** A storage the test breaks and mends; replays land in `rows` too. */
class Storage {
  readonly rows: { id: string; record: unknown }[] = [];
  mode: 'up' | 'down' | 'hang' = 'up';

  insert(record: unknown, id: string): Promise<void> {
    if (this.mode === 'down') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    this.rows.push({ id, record });
    return Promise.resolve();
  }
}

interface Harness {
  readonly clock: ManualClock;
  readonly events: AuditAlertEvent[];
  readonly monitor: AuditStorageMonitor;
  readonly storage: Storage;
  readonly dir: string;
  write(n: number): Promise<unknown>;
}

let dirs: string[] = [];
let monitors: AuditStorageMonitor[] = [];

async function harness(
  spool: Partial<AuditSpoolOptions> = {},
  options: AuditAlertModuleOptions = {},
  /** Runs between the options' resolution (their checks passed) and the monitor's start. */
  beforeStart: (dir: string) => Promise<void> = async () => undefined,
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-spool-'));
  dirs.push(dir);
  const storage = new Storage();
  const clock = new ManualClock();
  const events: AuditAlertEvent[] = [];
  const dispatcher = {
    dispatch: (event: AuditAlertEvent) => {
      events.push(event);
      return Promise.resolve([]);
    },
  } as unknown as AuditAlertDispatcher;
  const resolved = resolveAuditAlertOptions({
    thresholdMs: THRESHOLD_MS,
    writeTimeoutMs: WRITE_TIMEOUT_MS,
    spool: {
      directory: dir,
      replay: (record: unknown, { id }: { id: string }) => storage.insert(record, id),
      replayPerSecond: 10,
      ...spool,
    },
    ...options,
  });
  const monitor = new AuditStorageMonitor(
    resolved.monitors[0]!,
    clock,
    new LocalAlertSink('default', dispatcher, null, null),
  );
  monitors.push(monitor);
  await beforeStart(dir);
  monitor.start();
  await waitFor(() => monitor.spool!.healthy || events.length > 0, 'the spool to open');
  return {
    clock,
    events,
    monitor,
    storage,
    dir: join(dir, 'default'),
    write: (n) => {
      const record = { action: 'transfer', n };
      return monitor.track(() => storage.insert(record, `r-${n}`), { record, id: `r-${n}` });
    },
  };
}

async function spooledLines(dir: string): Promise<Record<string, unknown>[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  const lines: Record<string, unknown>[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return lines;
}

/** Lets the spool's file work (real I/O) finish. */
const io = (ms = 2): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves the manual clock by the replay's pause until `done`, letting the file work run between steps. */
async function replayUntil(h: Harness, done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await io();
    h.clock.advance(100);
  }
  await io(10);
}

/** Runs the replay to its end. */
const drain = (h: Harness): Promise<void> =>
  replayUntil(h, () => h.monitor.spool!.pending === 0 && h.events.at(-1)?.type === 'audit.spool.replayed', 'the drain');

beforeEach(() => {
  dirs = [];
  monitors = [];
});

afterEach(async () => {
  for (const monitor of monitors) monitor.close();
  // A replay stopped mid-step may still be renaming its state file.
  await io(20);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('the spool (alternate audit log, AU-5(5))', () => {
  it('keeps the record of a failed write on disk, owner-only and hash-chained, before track() settles', async () => {
    const h = await harness();
    await expect(h.write(1)).resolves.toBeUndefined(); // the storage is up: written, nothing spooled
    expect(h.storage.rows).toHaveLength(1);
    expect(await spooledLines(h.dir)).toEqual([]);

    h.storage.mode = 'down';
    await expect(h.write(2)).resolves.toBeUndefined();
    await expect(h.write(3)).resolves.toBeUndefined();
    // Resolved means on disk: read right away, no waiting.
    const lines = await spooledLines(h.dir);
    expect(lines).toEqual([
      expect.objectContaining({ seq: 1, id: 'r-2', record: { action: 'transfer', n: 2 }, prev: '0'.repeat(64) }),
      expect.objectContaining({ seq: 2, id: 'r-3', record: { action: 'transfer', n: 3 }, prev: lines[0]!.hash }),
    ]);
    expect(lines[0]!.at).toBe(new Date(h.clock.wallNow()).toISOString());
    expect((await stat(h.dir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(h.dir)) expect((await stat(join(h.dir, name))).mode & 0o777).toBe(0o600);
    expect(await verifyAuditSpool(h.dir)).toEqual({ ok: true, records: 2, lastSeq: 2, problems: [] });
    expect(h.monitor.getStatus().state).toBe('failing');
  });

  it('keeps the record of a write that hangs past writeTimeoutMs, and lets track() go', async () => {
    const h = await harness();
    h.storage.mode = 'hang';
    let settled: unknown = 'pending';
    void h.write(1).then((value) => (settled = value));
    h.clock.advance(WRITE_TIMEOUT_MS - 1);
    await flush();
    expect(settled).toBe('pending');
    h.clock.advance(WRITE_TIMEOUT_MS / 4 + 1);
    await waitFor(() => settled !== 'pending', 'track() to settle');
    expect(settled).toBeUndefined();
    expect(await spooledLines(h.dir)).toEqual([expect.objectContaining({ seq: 1, id: 'r-1' })]);
  });

  it('spools exactly the writes still hanging, in the order they started, whichever of their generation settled before', async () => {
    const h = await harness();
    const answer: (() => void)[] = [];
    const outcomes: unknown[] = [];
    for (let n = 1; n <= 5; n += 1) {
      const record = { action: 'transfer', n };
      void h.monitor
        .track(() => new Promise<void>((resolve) => answer.push(resolve)), { record, id: `r-${n}` })
        .then(() => outcomes.push(n));
    }
    // The newest, the oldest and one between them answer: writes leave the pending ones from either end and the middle.
    answer[4]!();
    answer[0]!();
    answer[2]!();
    await flush();
    expect(outcomes.sort()).toEqual([1, 3, 5]);
    h.clock.advance(WRITE_TIMEOUT_MS + WRITE_TIMEOUT_MS / 4 + 1);
    await waitFor(() => outcomes.length === 5, 'the hung writes to be spooled');
    expect((await spooledLines(h.dir)).map((line) => line.id)).toEqual(['r-2', 'r-4']);
  });

  it('hands the operation the id its record is spooled under, so a hung write that lands late and its replay are one row', async () => {
    const h = await harness();
    let land: (() => void) | null = null;
    let idSeen: string | number | null = null;
    // No caller id: the write reads one from its argument, as an INSERT … ON CONFLICT (id) would.
    const record = { action: 'transfer', n: 7 };
    const tracked = h.monitor.track(
      (write) => {
        idSeen = write.id;
        return new Promise<void>((resolve) => {
          land = () => {
            h.storage.rows.push({ id: String(write.id), record });
            resolve();
          };
        });
      },
      { record },
    );
    h.clock.advance(WRITE_TIMEOUT_MS + WRITE_TIMEOUT_MS / 4 + 1);
    await expect(tracked).resolves.toBeUndefined();
    expect(idSeen).toMatch(/^[0-9a-f-]{36}$/);
    expect(await spooledLines(h.dir)).toEqual([expect.objectContaining({ seq: 1, id: idSeen })]);
    land!(); // the hung write lands after all
    await flush();
    h.clock.advance(THRESHOLD_MS);
    await drain(h);
    // Stored twice, but under one id: an idempotent insert keeps one row.
    expect(h.storage.rows.map((row) => row.id)).toEqual([idSeen, idSeen]);
  });

  it('gives the operation the caller id when there is one, and an id even without a spool', async () => {
    const h = await harness();
    const ids: (string | number)[] = [];
    await h.monitor.track((write) => void ids.push(write.id, write.id), { record: {}, id: 42 });
    await h.monitor.track((write) => void ids.push(write.id, write.id), { record: {} });
    expect(ids[0]).toBe(42);
    expect(ids[1]).toBe(42);
    expect(ids[2]).toBe(ids[3]); // made once, on first read
    const bare = new AuditStorageMonitor(
      resolveAuditAlertOptions({}).monitors[0]!,
      new ManualClock(),
      new LocalAlertSink(
        'default',
        { dispatch: () => Promise.resolve([]) } as unknown as AuditAlertDispatcher,
        null,
        null,
      ),
    );
    monitors.push(bare);
    await expect(bare.track((write) => write.id, { record: {}, id: 'caller' })).resolves.toBe('caller');
    await expect(bare.track((write) => write.id, { record: {} })).resolves.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('spools a hung write no earlier than writeTimeoutMs after it started, even one that joined its sweep late', async () => {
    const timeoutMs = 1_000;
    const h = await harness({}, { writeTimeoutMs: timeoutMs });
    // A write that succeeds opens the sweep's generation of writes; the hung one joins it late.
    await expect(h.write(1)).resolves.toBeUndefined();
    h.clock.advance(timeoutMs / 4 - 1);
    h.storage.mode = 'hang';
    let settled: unknown = 'pending';
    void h.write(2).then((value) => (settled = value));
    h.clock.advance(timeoutMs - 1);
    await flush();
    await io(50);
    // Spooled now, it would be stored twice if the storage then wrote it late.
    expect(settled).toBe('pending');
    expect(await spooledLines(h.dir)).toEqual([]);
    h.clock.advance(timeoutMs / 4 + 1);
    await waitFor(() => settled !== 'pending', 'track() to settle');
    expect(settled).toBeUndefined();
    expect(await spooledLines(h.dir)).toEqual([expect.objectContaining({ seq: 1, id: 'r-2' })]);
  });

  it('counts spooled and lost records in the recovery, then replays oldest first at the configured rate, removing each once written', async () => {
    const h = await harness();
    h.storage.mode = 'down';
    for (let n = 1; n <= 5; n += 1) await h.write(n);
    h.clock.advance(THRESHOLD_MS);
    h.storage.mode = 'up';
    await h.write(6);
    const recovery = h.events.find((e) => e.type === 'audit.storage.recovered') as StorageRecoveredEvent;
    expect(recovery).toMatchObject({ writesFailed: 5, recordsSpooled: 5, recordsLost: 0 });
    // The deprecated aliases say the same.
    expect(recovery).toMatchObject({ eventsAffected: 5, eventsSpooled: 5, eventsLost: 0 });

    // 10 per second: one record, then 100 ms (of the manual clock) before the next.
    await waitFor(() => h.storage.rows.length === 2, 'the first replay');
    await io(30);
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-6', 'r-1']);
    h.clock.advance(99);
    await io(30);
    expect(h.storage.rows).toHaveLength(2);
    h.clock.advance(1);
    await waitFor(() => h.storage.rows.length === 3, 'the second replay');
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-6', 'r-1', 'r-2']);
    await drain(h);
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-6', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5']);
    expect(h.storage.rows[1]!.record).toEqual({ action: 'transfer', n: 1 });
    expect(h.monitor.spool!.pending).toBe(0);
    expect(h.events.at(-1)).toMatchObject({ type: 'audit.spool.replayed', recordsReplayed: 5, monitor: 'default' });
    expect(await verifyAuditSpool(h.dir)).toMatchObject({ ok: true });
  });

  it('tells failed writes from lost records: a freeze whose every record was kept, and a write reported without one', async () => {
    const h = await harness();
    h.storage.mode = 'hang';
    const hung = [1, 2, 3].map((n) => h.write(n));
    // A failed write the application reports itself: it carries no record, so it is neither spooled nor lost.
    h.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    h.clock.advance(WRITE_TIMEOUT_MS + WRITE_TIMEOUT_MS / 4);
    await expect(Promise.all(hung)).resolves.toEqual([undefined, undefined, undefined]);
    h.storage.mode = 'up';
    await h.write(4);
    const recovery = h.events.find((e) => e.type === 'audit.storage.recovered') as StorageRecoveredEvent;
    // Four writes failed (three of them hung), and not one record was lost.
    expect(recovery).toMatchObject({ writesFailed: 4, recordsSpooled: 3, recordsLost: 0 });
    expect(Number.isInteger(recovery.outageDurationMs)).toBe(true);
  });

  it('stops replaying when the storage fails again, opens no outage of its own, and goes on while healthy', async () => {
    const h = await harness();
    h.storage.mode = 'down';
    for (let n = 1; n <= 3; n += 1) await h.write(n);
    h.storage.mode = 'up';
    await h.write(4);
    await waitFor(() => h.storage.rows.length === 2, 'the first replay');
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-4', 'r-1']);
    h.storage.mode = 'down';
    for (let i = 0; i < 10; i += 1) {
      await io();
      h.clock.advance(100);
    }
    // The application's writes say whether the storage works; a replay refused is no outage.
    expect(h.monitor.spool!.pending).toBe(2);
    expect(h.monitor.getStatus().state).toBe('healthy');
    expect(h.events.filter((e) => e.type === 'audit.storage.unreachable')).toEqual([]);
    h.storage.mode = 'up';
    await drain(h);
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-4', 'r-1', 'r-2', 'r-3']);
    expect(await readdir(h.dir)).not.toContain('quarantine.jsonl');
  });

  it('keeps nothing the storage refused by classify, and sets a refused record aside rather than stall on it', async () => {
    const refused = Object.assign(new Error('null value in column "actor" violates not-null constraint'), {
      code: '23502',
    });
    const classify = (error: unknown) => ((error as { code?: string }).code === '23502' ? 'record' : 'storage');
    const h = await harness({}, { classify });
    // A refused record: the storage is up, a replay would be refused too.
    await expect(h.monitor.track(() => Promise.reject(refused), { record: { n: 0 } })).rejects.toBe(refused);
    expect(h.monitor.spool!.pending).toBe(0);

    h.storage.mode = 'down';
    for (let n = 1; n <= 3; n += 1) await h.write(n);
    // Record 2 turns out to be refused by the storage once it is back.
    const insert = h.storage.insert.bind(h.storage);
    h.storage.insert = (record, id) => (id === 'r-2' ? Promise.reject(refused) : insert(record, id));
    h.storage.mode = 'up';
    await h.write(4);
    await drain(h);
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-4', 'r-1', 'r-3']);
    expect(h.monitor.getStatus().state).toBe('healthy');
    // Set aside, not deleted: in the quarantine file, reported.
    const aside = (await readFile(join(h.dir, 'quarantine.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(aside.map((l) => JSON.parse(l) as { id: string })).toEqual([expect.objectContaining({ id: 'r-2', seq: 2 })]);
    expect(h.events.filter((e) => e.type === 'audit.spool.quarantined')).toEqual([
      expect.objectContaining({ recordsQuarantined: 1, reason: expect.stringContaining('not-null') }),
    ]);
  });

  it('rotates into several files under segmentBytes, replays across them and deletes each once replayed', async () => {
    const h = await harness({ segmentBytes: 4_096 });
    h.storage.mode = 'down';
    const padding = 'x'.repeat(1_000);
    for (let n = 1; n <= 12; n += 1) {
      await h.monitor.track(() => h.storage.insert(null, ''), { record: { n, padding }, id: `r-${n}` });
    }
    const segments = (await readdir(h.dir)).filter((n) => n.endsWith('.jsonl'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(await verifyAuditSpool(h.dir)).toMatchObject({ ok: true, records: 12 });
    h.storage.mode = 'up';
    await h.write(13);
    await drain(h);
    expect(h.storage.rows.map((r) => r.id)).toEqual(['r-13', ...Array.from({ length: 12 }, (_, i) => `r-${i + 1}`)]);
    expect((await readdir(h.dir)).filter((n) => n.endsWith('.jsonl')).length).toBeLessThanOrEqual(1);
    expect(await verifyAuditSpool(h.dir)).toMatchObject({ ok: true, records: 0 });
  });

  it('picks up where a previous run stopped: records spooled and not replayed are replayed by the next', async () => {
    const first = await harness();
    first.storage.mode = 'down';
    for (let n = 1; n <= 4; n += 1) await first.write(n);
    first.monitor.close();

    const storage = new Storage();
    const clock = new ManualClock();
    const events: AuditAlertEvent[] = [];
    const resolved = resolveAuditAlertOptions({
      spool: {
        directory: join(first.dir, '..'),
        replay: (record: unknown, { id }: { id: string }) => storage.insert(record, id),
      },
    });
    const dispatcher = {
      dispatch: (event: AuditAlertEvent) => {
        events.push(event);
        return Promise.resolve([]);
      },
    } as unknown as AuditAlertDispatcher;
    const second = new AuditStorageMonitor(
      resolved.monitors[0]!,
      clock,
      new LocalAlertSink('default', dispatcher, null, null),
    );
    monitors.push(second);
    second.start();
    for (let i = 0; i < 1_000 && storage.rows.length < 4; i += 1) {
      await io();
      clock.advance(10);
    }
    expect(storage.rows.map((r) => r.id)).toEqual(['r-1', 'r-2', 'r-3', 'r-4']);
  });

  it("after a crash, cuts off a line left half-written and adopts lines fsync'd past the head", async () => {
    const first = await harness();
    first.storage.mode = 'down';
    for (let n = 1; n <= 3; n += 1) await first.write(n);
    first.monitor.close();
    const [segment] = (await readdir(first.dir)).filter((n) => n.endsWith('.jsonl'));
    const lines = (await readFile(join(first.dir, segment!), 'utf8')).split('\n');
    // Killed after the data of record 3 was fsync'd, before the head was updated, while writing record 4.
    await writeFile(join(first.dir, 'head.json'), JSON.stringify({ seq: 2, hash: JSON.parse(lines[1]!).hash }));
    await appendFile(join(first.dir, segment!), '{"seq":4,"id":"r-4","at":"2026-');
    expect((await verifyAuditSpool(first.dir)).problems).toEqual([
      `${segment}: the last line is cut short (no line end): truncated.`,
    ]);

    const second = await harness({ directory: join(first.dir, '..') });
    second.storage.mode = 'down';
    await second.write(5);
    expect(await verifyAuditSpool(first.dir)).toEqual({ ok: true, records: 4, lastSeq: 4, problems: [] });
    expect((await spooledLines(first.dir)).map((l) => l.id)).toEqual(['r-1', 'r-2', 'r-3', 'r-5']);
  });

  it('detects an edited, a removed and a truncated record', async () => {
    const h = await harness();
    h.storage.mode = 'down';
    for (let n = 1; n <= 3; n += 1) await h.write(n);
    const [segment] = (await readdir(h.dir)).filter((n) => n.endsWith('.jsonl'));
    const path = join(h.dir, segment!);
    const original = await readFile(path, 'utf8');

    await writeFile(path, original.replace('"n":2', '"n":20'));
    const edited = await verifyAuditSpool(h.dir);
    expect(edited.ok).toBe(false);
    expect(edited.problems).toEqual([`${segment} line 2: its content does not match its hash.`]);

    const lines = original.split('\n');
    await writeFile(path, [lines[0], lines[2], ''].join('\n'));
    expect((await verifyAuditSpool(h.dir)).problems).toEqual([
      `${segment} line 2: sequence 3 where 2 was due.`,
      `${segment} line 2: not chained to the line before it.`,
    ]);

    await writeFile(path, [lines[0], lines[1], ''].join('\n'));
    expect((await verifyAuditSpool(h.dir)).problems).toEqual([
      'head.json names record 3, but the spool ends at 2: records are missing.',
    ]);

    // Lines past the head (fsync'd by a process killed before it updated the head) are fine; a forged head is not.
    const head = join(h.dir, 'head.json');
    const anchor = await readFile(head, 'utf8');
    await writeFile(path, original);
    await writeFile(head, anchor.replace('"seq":3', '"seq":2'));
    expect((await verifyAuditSpool(h.dir)).problems).toEqual([
      'head.json names record 2, which is not on the chain: records were altered.',
    ]);
    await writeFile(head, JSON.stringify({ seq: 2, hash: JSON.parse(lines[1]!).hash }));
    expect(await verifyAuditSpool(h.dir)).toMatchObject({ ok: true, records: 3 });
    await writeFile(head, anchor);

    await truncate(path, original.length - 10);
    expect((await verifyAuditSpool(h.dir)).problems).toEqual(
      expect.arrayContaining([`${segment}: the last line is cut short (no line end): truncated.`]),
    );
    await writeFile(path, original);
    await appendFile(path, '{"seq":4}\n');
    expect((await verifyAuditSpool(h.dir)).ok).toBe(false);
  });

  it('alerts when the spool cannot keep a record, and the write then rejects as it did', async () => {
    const h = await harness({ maxBytes: 8_192, segmentBytes: 4_096 });
    h.storage.mode = 'down';
    const big = { padding: 'x'.repeat(3_000) };
    await h.monitor.track(() => h.storage.insert(big, 'a'), { record: big });
    await h.monitor.track(() => h.storage.insert(big, 'b'), { record: big });
    await expect(h.monitor.track(() => h.storage.insert(big, 'c'), { record: big })).rejects.toThrow('ECONNREFUSED');
    await expect(h.monitor.track(() => h.storage.insert(big, 'd'), { record: big })).rejects.toThrow('ECONNREFUSED');
    const alerts = h.events.filter((e) => e.type === 'audit.spool.unwritable');
    expect(alerts).toEqual([
      expect.objectContaining({ monitor: 'default', recordsLost: 1, lastError: expect.stringContaining('full') }),
    ]);
    expect(h.monitor.spool!.healthy).toBe(false);
    h.clock.advance(THRESHOLD_MS);
    h.storage.mode = 'up';
    await h.write(1);
    expect(h.events.find((e) => e.type === 'audit.storage.recovered')).toMatchObject({
      writesFailed: 4,
      recordsSpooled: 2,
      recordsLost: 2,
      eventsAffected: 4,
      eventsSpooled: 2,
      eventsLost: 2,
    });
  });

  it('alerts when the spool directory, there at bootstrap, has become a file by the time it opens', async () => {
    const h = await harness({}, {}, async (dir) => {
      await rm(dir, { recursive: true });
      await writeFile(dir, '');
    });
    expect(h.events).toEqual([
      expect.objectContaining({
        type: 'audit.spool.unwritable',
        recordsLost: 0,
        lastError: expect.stringContaining('ENOTDIR'),
      }),
    ]);
    h.storage.mode = 'down';
    await expect(h.write(1)).rejects.toThrow('ECONNREFUSED');
    expect(h.monitor.spool!.healthy).toBe(false);
  });

  it.each<[string, unknown, string]>([
    ['spool.directory', '', "spool.directory\": received ''; expected the path of a directory"],
    ['spool.replay', 'insert', "spool.replay\": received 'insert'; expected a function writing one record"],
    ['spool.replayPerSecond', 0, 'spool.replayPerSecond": received 0; expected a whole number from 1'],
    ['spool.maxBytes', 100, 'spool.maxBytes": received 100; expected a whole number from 8388608'],
  ])('rejects a bad %s at bootstrap', (path, value, message) => {
    const spool = { directory: '/tmp/x', replay: () => undefined, [path.split('.')[1]!]: value };
    expect(() => resolveAuditAlertOptions({ spool })).toThrow(message);
  });

  describe('where the spool lives, checked at bootstrap', () => {
    let root: string;
    const replay = () => undefined;
    const ALLOWED =
      'expected an existing directory the process can list and write to (each monitor spools in a subdirectory of it, created 0700).';

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'audit-spool-paths-'));
      dirs.push(root);
    });

    function refusal(options: Record<string, unknown>): AuditAlertConfigError {
      try {
        resolveAuditAlertOptions(options);
      } catch (error) {
        expect(error).toBeInstanceOf(AuditAlertConfigError);
        return error as AuditAlertConfigError;
      }
      throw new Error('the options were accepted');
    }

    it('refuses a directory that does not exist, and does not create it', () => {
      const directory = join(root, 'not-mounted');
      const error = refusal({ spool: { directory, replay } });
      expect(error.option).toBe('spool.directory');
      expect(error.message).toBe(
        `Invalid audit alert option "spool.directory": received '${directory}', but ${directory} does not exist; ${ALLOWED}`,
      );
      expect(existsSync(directory)).toBe(false);
    });

    it('refuses a file, and a path under a file', async () => {
      const file = join(root, 'plain');
      await writeFile(file, '');
      expect(refusal({ spool: { directory: file, replay } }).message).toBe(
        `Invalid audit alert option "spool.directory": received '${file}', but ${file} is not a directory; ${ALLOWED}`,
      );
      const under = join(file, 'spool');
      expect(refusal({ spool: { directory: under, replay } }).message).toBe(
        `Invalid audit alert option "spool.directory": received '${under}', but a part of ${under} is a file, not a directory; ${ALLOWED}`,
      );
    });

    it("names a monitor's own spool, and refuses a NUL in the path", () => {
      const directory = join(root, 'missing');
      const error = refusal({ monitors: [{ name: 'primary' }, { name: 'archive', spool: { directory, replay } }] });
      expect(error.option).toBe('monitors[1].spool.directory');
      expect(refusal({ spool: { directory: `${root}\u0000x`, replay } }).message).toContain(
        'expected the path of a directory',
      );
    });

    it("refuses a monitor's subdirectory that is a file", async () => {
      await writeFile(join(root, 'archive'), '');
      const error = refusal({
        spool: { directory: root, replay },
        monitors: [{ name: 'primary' }, { name: 'archive' }],
      });
      expect(error.option).toBe('spool.directory');
      expect(error.message).toBe(
        `Invalid audit alert option "spool.directory": received '${root}', but monitor "archive" spools in ${join(root, 'archive')}, and ${join(root, 'archive')} is not a directory; ` +
          "expected a directory whose subdirectory archive, if there, is a directory of the process's user that it can list and write to.",
      );
    });

    it.each(['.', '..', '...', '.hidden', '-rf', 'a/b', '../a', 'a\\b', 'a\u0000b', 'x'.repeat(65)])(
      'refuses the monitor name %p, which would not name one subdirectory of its own',
      (name) => {
        const error = refusal({ spool: { directory: root, replay }, monitors: [{ name: 'primary' }, { name }] });
        expect(error.option).toBe('monitors[1].name');
        expect(error.message).toContain(
          'expected a name of 1 to 64 letters, digits, "_", "-", "." or ":", starting with a letter or a digit (it names the directory of its spool).',
        );
      },
    );

    it('refuses two names that differ only in letter case, sharing a directory (also through a link)', async () => {
      const link = join(root, 'link');
      await symlink(root, link);
      for (const second of [{ name: 'Archive' }, { name: 'ARCHIVE', spool: { directory: link, replay } }]) {
        const error = refusal({ spool: { directory: root, replay }, monitors: [{ name: 'archive' }, second] });
        expect(error.option).toBe('monitors[1].name');
        expect(error.message).toBe(
          `Invalid audit alert option "monitors[1].name": received '${second.name}'; expected a name that differs from "archive" by more than letter case: ` +
            `both spool in ${realpathSync(root)}, where a case-insensitive file system would give them one subdirectory.`,
        );
      }
    });

    it('accepts an existing directory, a subdirectory already there, and names of every allowed character', async () => {
      await mkdir(join(root, 'archive'));
      const names = ['archive', 'a', '9lives', 'db:primary', 'eu-west_1.audit', 'x'.repeat(64)];
      const resolved = resolveAuditAlertOptions({
        spool: { directory: root, replay },
        monitors: names.map((name) => ({ name })),
      });
      expect(resolved.monitors.map((m) => m.spool?.directory)).toEqual(names.map(() => root));
    });
  });
});

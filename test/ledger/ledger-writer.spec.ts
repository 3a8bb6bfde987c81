import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AuditLedger, MAX_QUEUED_RECORDS } from '../../src/ledger/audit-ledger.writer.js';
import type { LedgerLine, LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../../src/ledger/ledger-reader.js';
import { verifyAuditLedger } from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { waitFor } from '../channels/support/http-receiver.js';

const GENESIS = '0'.repeat(64);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-ledger-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const record = (n: number): LedgerRecord => ({
  kind: 'gap-record',
  outageId: `o-${n}`,
  monitor: 'default',
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-01T00:01:00.000Z',
  result: 'written',
  attempts: 1,
  reason: null,
});

/** A record longer than a page: it never fits in what is left of the last page of a file. */
const large = (n: number): LedgerRecord => ({ ...record(n), reason: 'x'.repeat(5_000) }) as LedgerRecord;

async function openLedger(
  directory: string,
  clock: ManualClock,
  retentionDays = 400,
  onBroken: (found: unknown) => void = () => undefined,
): Promise<AuditLedger> {
  const ledger = new AuditLedger({ directory, retentionDays }, 'billing-api', clock, 1_000, null, onBroken);
  await ledger.open();
  cleanups.push(() => ledger.close(0));
  return ledger;
}

async function linesOf(directory: string): Promise<{ file: string; entry: LedgerLine }[]> {
  const lines: { file: string; entry: LedgerLine }[] = [];
  for await (const { file, entry } of readLedgerLines(directory)) lines.push({ file, entry: entry! });
  return lines;
}

async function write(ledger: AuditLedger, ...numbers: number[]): Promise<void> {
  for (const n of numbers) ledger.append(record(n));
  await ledger.flushed();
}

describe('the evidence ledger writer', () => {
  it('appends numbered lines chained by SHA-256 from the genesis hash, in a 0700 directory of 0600 files', async () => {
    const dir = join(await tempDir(), 'ledger');
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    await write(ledger, 1, 2, 3);

    const lines = await linesOf(dir);
    expect(lines.map(({ file, entry }) => [file, entry.seq, entry.kind, entry.service])).toEqual([
      ['ledger-2026-01-01.jsonl', 1, 'gap-record', 'billing-api'],
      ['ledger-2026-01-01.jsonl', 2, 'gap-record', 'billing-api'],
      ['ledger-2026-01-01.jsonl', 3, 'gap-record', 'billing-api'],
    ]);
    expect(lines[0]!.entry.prev).toBe(GENESIS);
    expect(lines[1]!.entry.prev).toBe(lines[0]!.entry.hash);
    expect(lines[2]!.entry.prev).toBe(lines[1]!.entry.hash);
    expect(lines[0]!.entry.at).toBe('2026-01-01T12:00:00.000Z');
    expect(lines[0]!.entry.replica).toMatch(new RegExp(`^.+:${process.pid}$`));
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 3 });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'ledger-2026-01-01.jsonl'))).mode & 0o777).toBe(0o600);
  });

  it('never makes the caller wait: append() returns before anything is written, and the batch is written in order', async () => {
    const dir = await tempDir();
    const ledger = await openLedger(dir, new ManualClock());
    for (let n = 1; n <= 50; n += 1) ledger.append(record(n));
    expect(ledger.pending).toBeGreaterThan(0);
    await ledger.flushed();
    expect((await linesOf(dir)).map(({ entry }) => (entry as { outageId: string }).outageId)).toEqual(
      Array.from({ length: 50 }, (_, i) => `o-${i + 1}`),
    );
  });

  it("appendSynced() resolves true once its line is fsync'd, after the lines before it, and false when the ledger closes first", async () => {
    const dir = join(await tempDir(), 'ledger');
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    ledger.append(record(1));
    expect(await ledger.appendSynced(record(2))).toBe(true);
    expect((await linesOf(dir)).map(({ entry }) => entry.seq)).toEqual([1, 2]);
    await ledger.close(0);
    expect(await ledger.appendSynced(record(3))).toBe(false);

    // A record still waiting when the ledger closes will never be written: said so, not left pending.
    const unopened = new AuditLedger(
      { directory: join(await tempDir(), 'ledger'), retentionDays: 400 },
      'billing-api',
      clock,
      0,
    );
    const waiting = unopened.appendSynced(record(4));
    await unopened.close(0);
    expect(await waiting).toBe(false);
  });

  it('starts a new file at each UTC day, the chain and sequence running on across the files, and across a restart', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    clock.advance(12 * 3_600_000 - 1_000); // 23:59:59 UTC
    let ledger = await openLedger(dir, clock);
    await write(ledger, 1);
    clock.advance(2_000);
    await write(ledger, 2);
    await ledger.close(0);
    ledger = await openLedger(dir, clock);
    await write(ledger, 3);

    const lines = await linesOf(dir);
    expect(lines.map(({ file, entry }) => [file, entry.seq])).toEqual([
      ['ledger-2026-01-01.jsonl', 1],
      ['ledger-2026-01-02.jsonl', 2],
      ['ledger-2026-01-02.jsonl', 3],
    ]);
    expect(lines[1]!.entry.prev).toBe(lines[0]!.entry.hash);
    expect(lines[2]!.entry.prev).toBe(lines[1]!.entry.hash);
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 3 });
  });

  it('never goes back to an earlier day when the wall clock steps back', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    clock.advance(12 * 3_600_000); // 2026-01-02T00:00
    const ledger = await openLedger(dir, clock);
    await write(ledger, 1);
    clock.jumpWall(-3_600_000);
    await write(ledger, 2);
    expect((await linesOf(dir)).map(({ file }) => file)).toEqual([
      'ledger-2026-01-02.jsonl',
      'ledger-2026-01-02.jsonl',
    ]);
  });

  it('deletes the files whose last line is past retentionDays, and the verifier anchors on the oldest file left', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock, 2);
    await write(ledger, 1, 2); // 2026-01-01
    clock.advance(86_400_000);
    await write(ledger, 3); // 2026-01-02
    clock.advance(86_400_000);
    await write(ledger, 4); // 2026-01-03: the first file's last line is 2 days old, not past
    expect(await readdir(dir)).toContain('ledger-2026-01-01.jsonl');
    clock.advance(86_400_000);
    await write(ledger, 5); // 2026-01-04: now it is
    expect((await readdir(dir)).filter((name) => name.endsWith('.jsonl'))).toEqual([
      'ledger-2026-01-02.jsonl',
      'ledger-2026-01-03.jsonl',
      'ledger-2026-01-04.jsonl',
    ]);
    const [first] = await linesOf(dir);
    expect(first!.entry.seq).toBe(3);
    expect(first!.entry.prev).not.toBe(GENESIS);
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 3 });
  });

  it('prunes at open too, keeping the file being appended to', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock, 1);
    await write(ledger, 1);
    clock.advance(86_400_000);
    await write(ledger, 2);
    await ledger.close(0);
    clock.advance(30 * 86_400_000);
    await openLedger(dir, clock, 1);
    expect((await readdir(dir)).filter((name) => name.endsWith('.jsonl'))).toEqual(['ledger-2026-01-02.jsonl']);
  });

  it('refuses a second writer on the directory, naming ledger.directory and the holder', async () => {
    const dir = await tempDir();
    await openLedger(dir, new ManualClock());
    const second = new AuditLedger({ directory: dir, retentionDays: 400 }, 'billing-api', new ManualClock(), 0);
    await expect(second.open()).rejects.toThrow(
      new RegExp(`^ledger\\.directory: .* is in use by process ${process.pid} on `),
    );
  });

  it('records a break found at open, reports it once, cuts a half-written last line off and goes on from the last line', async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    let ledger = await openLedger(dir, clock);
    await write(ledger, 1, 2);
    await ledger.close(0);
    appendFileSync(join(dir, 'ledger-2026-01-01.jsonl'), '{"seq":3,"at":"2026-01-01T12:00:00.000Z","serv');
    const found: unknown[] = [];
    ledger = await openLedger(dir, clock, 400, (f) => found.push(f));
    await write(ledger, 3);

    expect(found).toEqual([
      {
        ok: false,
        entries: 2,
        firstBadLine: { file: 'ledger-2026-01-01.jsonl', line: 3 },
        reason: 'the line is cut short (no line end): the file was truncated',
      },
    ]);
    const lines = await linesOf(dir);
    expect(lines.map(({ entry }) => [entry.seq, entry.kind])).toEqual([
      [1, 'gap-record'],
      [2, 'gap-record'],
      [3, 'ledger-break'],
      [4, 'gap-record'],
    ]);
    expect(lines[2]!.entry).toMatchObject({ file: 'ledger-2026-01-01.jsonl', line: 3 });
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 4 });
  });
});

describe('verifyAuditLedger()', () => {
  async function ledgerOf(count: number, days = 1): Promise<string> {
    const dir = await tempDir();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    for (let day = 0; day < days; day += 1) {
      await write(ledger, ...Array.from({ length: count }, (_, i) => day * count + i + 1));
      clock.advance(86_400_000);
    }
    await ledger.close(0);
    return dir;
  }
  const FILE = 'ledger-2026-01-01.jsonl';
  const FILE2 = 'ledger-2026-01-02.jsonl';
  async function edit(dir: string, file: string, change: (lines: string[]) => string[]): Promise<void> {
    const text = await readFile(join(dir, file), 'utf8');
    await writeFile(join(dir, file), `${change(text.slice(0, -1).split('\n')).join('\n')}\n`);
  }

  it('accepts an intact ledger over several files, and an empty or missing directory', async () => {
    expect(await verifyAuditLedger(await ledgerOf(3, 3))).toEqual({ ok: true, entries: 9 });
    expect(await verifyAuditLedger(await tempDir())).toEqual({ ok: true, entries: 0 });
    expect(await verifyAuditLedger(join(await tempDir(), 'none'))).toEqual({ ok: true, entries: 0 });
  });

  it('finds an edited line', async () => {
    const dir = await ledgerOf(4);
    await edit(dir, FILE, (lines) => lines.map((l, i) => (i === 1 ? l.replace('"o-2"', '"o-9"') : l)));
    expect(await verifyAuditLedger(dir)).toEqual({
      ok: false,
      entries: 1,
      firstBadLine: { file: FILE, line: 2 },
      reason: 'its content does not match its hash: it was edited',
    });
  });

  it('finds a line whose hash was replaced', async () => {
    const dir = await ledgerOf(3);
    await edit(dir, FILE, (lines) =>
      lines.map((l, i) => (i === 1 ? l.replace(/"hash":"[0-9a-f]+"/, `"hash":"${'1'.repeat(64)}"`) : l)),
    );
    expect((await verifyAuditLedger(dir)).firstBadLine).toEqual({ file: FILE, line: 2 });
  });

  it('finds a removed line', async () => {
    const dir = await ledgerOf(4);
    await edit(dir, FILE, (lines) => lines.filter((_, i) => i !== 1));
    expect(await verifyAuditLedger(dir)).toEqual({
      ok: false,
      entries: 1,
      firstBadLine: { file: FILE, line: 2 },
      reason: 'sequence 3 where 2 was due: lines were removed or reordered',
    });
  });

  it('finds reordered lines', async () => {
    const dir = await ledgerOf(4);
    await edit(dir, FILE, ([a, b, c, d]) => [a!, c!, b!, d!]);
    expect(await verifyAuditLedger(dir)).toMatchObject({
      ok: false,
      entries: 1,
      firstBadLine: { file: FILE, line: 2 },
    });
  });

  it('finds a gap in the sequence', async () => {
    const dir = await ledgerOf(3);
    await edit(dir, FILE, (lines) => lines.map((l, i) => (i === 2 ? l.replace('"seq":3', '"seq":4') : l)));
    expect(await verifyAuditLedger(dir)).toMatchObject({
      ok: false,
      entries: 2,
      firstBadLine: { file: FILE, line: 3 },
      reason: 'sequence 4 where 3 was due: lines were removed or reordered',
    });
  });

  it('finds a file truncated mid-line, and a whole file removed from the middle', async () => {
    const dir = await ledgerOf(3, 2);
    const text = await readFile(join(dir, FILE), 'utf8');
    await writeFile(join(dir, FILE), text.slice(0, -20));
    expect(await verifyAuditLedger(dir)).toEqual({
      ok: false,
      entries: 2,
      firstBadLine: { file: FILE, line: 3 },
      reason: 'the line is cut short (no line end): the file was truncated',
    });
    const whole = await ledgerOf(2, 3);
    await unlink(join(whole, FILE2));
    expect(await verifyAuditLedger(whole)).toMatchObject({
      ok: false,
      entries: 2,
      firstBadLine: { file: 'ledger-2026-01-03.jsonl', line: 1 },
    });
  });

  it('finds a line that is not a ledger line, and a first line not chained to the genesis hash', async () => {
    const dir = await ledgerOf(2);
    await edit(dir, FILE, (lines) => [lines[0]!, 'not json', lines[1]!]);
    expect(await verifyAuditLedger(dir)).toMatchObject({
      firstBadLine: { file: FILE, line: 2 },
      reason: 'not a ledger line: it was edited or damaged',
    });
    const forged = await ledgerOf(1);
    await edit(forged, FILE, (lines) => [lines[0]!.replace(GENESIS, '1'.repeat(64))]);
    expect(await verifyAuditLedger(forged)).toMatchObject({ ok: false, firstBadLine: { file: FILE, line: 1 } });
  });
});

/** A tmpfs of `size` mounted on a fresh directory, or `null` where this process may not mount one. */
async function tmpfs(size: string): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-ledger-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true });
    return null;
  }
  cleanups.push(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true });
  });
  return dir;
}

function fill(path: string): void {
  for (const size of [4_096, 1]) {
    try {
      for (;;) appendFileSync(path, Buffer.alloc(size, 120));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
}

describe('the ledger on a full disk (a real tmpfs at ENOSPC)', () => {
  const captured = (): CaptureLogger => {
    const logger = new CaptureLogger();
    Logger.overrideLogger(logger);
    cleanups.push(async () => Logger.overrideLogger(new Logger()));
    return logger;
  };

  it('logs the failure once with its reason, keeps the records and writes them, in order, once there is room', async () => {
    const dir = await tmpfs('64k');
    if (dir === null) throw new Error('mounting a tmpfs needs root (CAP_SYS_ADMIN): run this suite as root');
    const logger = captured();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    await write(ledger, 1);
    fill(join(dir, 'filler'));
    for (let n = 2; n <= 40; n += 1) ledger.append(large(n));
    // Tried again at each backoff, failing each time.
    for (let retry = 0; retry < 3; retry += 1) {
      await waitFor(() => clock.pendingTimers === 1, 'a retry armed');
      clock.advance(30_000);
    }
    await waitFor(() => clock.pendingTimers === 1, 'a retry armed');
    expect(ledger.pending).toBe(39);
    expect(logger.of('error')).toEqual([
      expect.stringMatching(/^The evidence ledger in .* cannot be written \(.*ENOSPC.*\); 39 records wait in memory/),
    ]);
    execFileSync('mount', ['-o', 'remount,size=8m', dir]);
    clock.advance(30_000);
    await ledger.flushed();
    expect(logger.of('log')).toEqual([expect.stringContaining('is written again (39 waiting records written)')]);
    expect((await linesOf(dir)).map(({ entry }) => entry.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 40 });
  });

  it('waits at most the time given to close, then says how many records were not written and lets them go', async () => {
    const dir = await tmpfs('64k');
    if (dir === null) throw new Error('mounting a tmpfs needs root (CAP_SYS_ADMIN): run this suite as root');
    const logger = captured();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    await write(ledger, 1);
    fill(join(dir, 'filler'));
    ledger.append(large(2));
    const waiting = ledger.appendSynced(large(3));
    await waitFor(() => clock.pendingTimers === 1, 'a retry armed');
    let closed = false;
    const closing = ledger.close(5_000).then(() => (closed = true));
    await waitFor(() => clock.pendingTimers === 2, 'the close to wait');
    clock.advance(4_999);
    await Promise.resolve();
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(await waiting).toBe(false);
    expect(logger.of('error').at(-1)).toMatch(/^The evidence ledger in .* was closed with 2 records not written\.$/);
    expect(clock.pendingTimers).toBe(0);
    // A retry may still be writing: the directory is let go once it ends, and nothing holds the file system then.
    await waitFor(() => !existsSync(join(dir, 'lock')), 'the directory to be let go');
  });

  it(`drops records past ${MAX_QUEUED_RECORDS} waiting, says so once, and records how many once it writes again`, async () => {
    const dir = await tmpfs('64k');
    if (dir === null) throw new Error('mounting a tmpfs needs root (CAP_SYS_ADMIN): run this suite as root');
    const logger = captured();
    const clock = new ManualClock();
    const ledger = await openLedger(dir, clock);
    await write(ledger, 0);
    fill(join(dir, 'filler'));
    ledger.append(large(1));
    await waitFor(() => clock.pendingTimers === 1, 'a retry armed');
    for (let n = 2; n <= MAX_QUEUED_RECORDS + 3; n += 1) ledger.append(record(n));
    expect(logger.of('error')).toEqual([
      expect.stringContaining('cannot be written'),
      expect.stringContaining(`has ${MAX_QUEUED_RECORDS} records waiting to be written: further records are dropped`),
    ]);
    // Room for every waiting record: ten thousand lines do not fit in 64 KiB.
    execFileSync('mount', ['-o', 'remount,size=8m', dir]);
    clock.advance(30_000);
    await ledger.flushed();
    const lines = await linesOf(dir);
    expect(lines).toHaveLength(MAX_QUEUED_RECORDS + 2);
    expect(lines.at(-1)!.entry).toMatchObject({
      kind: 'ledger-dropped',
      count: 3,
      reason: expect.stringContaining('ENOSPC'),
    });
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: MAX_QUEUED_RECORDS + 2 });
  });
});

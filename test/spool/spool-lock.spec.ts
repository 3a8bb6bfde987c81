import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAuditSpool } from '../../src/index.js';
import { SpoolLog } from '../../src/spool/spool-log.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { type ChildApp, forkApp, killApp, until } from '../support/child-app.js';

/*
 * Two processes on one spool directory (PM2, node:cluster workers on one
 * volume): the second is refused the directory, with an error naming
 * spool.directory and the process holding it, and loses its records by name
 * (its track() rejects) instead of interleaving them with the first's. A lock
 * left by a killed process is taken over. Real processes, the built package.
 */

const fixture = fileURLToPath(new URL('./fixtures/spool-lock-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

type Message =
  | { kind: 'ready'; pid: number }
  | { kind: 'ack' | 'lost'; id: string }
  | { kind: 'written' }
  | { kind: 'event'; event: { type: string; lastError?: string } }
  | { kind: 'status'; pending: number; healthy: boolean };

describe('one spool directory, two processes', () => {
  let spoolDir: string;
  let apps: ChildApp<Message>[] = [];

  beforeEach(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
    spoolDir = await mkdtemp(join(tmpdir(), 'audit-spool-lock-'));
    apps = [];
  });

  afterEach(async () => {
    for (const app of apps) await killApp(app);
    await rm(spoolDir, { recursive: true, force: true });
  });

  async function start(writer: string): Promise<ChildApp<Message>> {
    const app = await forkApp<Message>(fixture, { SPOOL_DIR: spoolDir, WRITER: writer });
    apps.push(app);
    return app;
  }

  async function write(app: ChildApp<Message>, count: number): Promise<{ acked: string[]; lost: string[] }> {
    const from = app.messages.length;
    app.child.send({ cmd: 'write', count });
    await until('the writes', () => app.messages.slice(from).some((m) => m.kind === 'written'));
    const mine = app.messages.slice(from);
    return {
      acked: mine.flatMap((m) => (m.kind === 'ack' ? [m.id] : [])),
      lost: mine.flatMap((m) => (m.kind === 'lost' ? [m.id] : [])),
    };
  }

  const pid = (app: ChildApp<Message>): number => (app.messages.find((m) => m.kind === 'ready') as { pid: number }).pid;

  it('refuses the directory to a second process, naming spool.directory and the holder; a killed holder’s lock is taken over', async () => {
    const first = await start('a');
    expect(await write(first, 5)).toEqual({ acked: ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'], lost: [] });

    const second = await start('b');
    const refused = second.messages.find((m) => m.kind === 'event' && m.event.type === 'audit.spool.unwritable');
    expect(refused).toMatchObject({
      event: {
        lastError: expect.stringMatching(new RegExp(`spool\\.directory: .* is in use by process ${pid(first)}`)),
      },
    });
    // Its records are named lost: never spooled where the first process would replay them as its own.
    expect(await write(second, 3)).toEqual({ acked: [], lost: ['b-1', 'b-2', 'b-3'] });
    const dir = join(spoolDir, 'default');
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({ pid: pid(first) });

    await killApp(first);
    await killApp(second);
    const third = await start('c');
    expect(third.messages.filter((m) => m.kind === 'event')).toEqual([]);
    expect(await write(third, 2)).toEqual({ acked: ['c-1', 'c-2'], lost: [] });
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({ pid: pid(third) });
    const lines = (await readFile(join(dir, 'segment-0000000000000001.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([
      'a-1',
      'a-2',
      'a-3',
      'a-4',
      'a-5',
      'c-1',
      'c-2',
    ]);
    expect(await verifyAuditSpool(dir)).toMatchObject({ ok: true, records: 7 });

    // A clean stop lets the directory go.
    const exited = new Promise((resolve) => third.child.once('exit', resolve));
    third.child.send({ cmd: 'stop' });
    await exited;
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  }, 60_000);
});

describe('a spool closed while it writes (the application stopping, its successor starting)', () => {
  let spoolDir: string;

  afterEach(async () => {
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('keeps the directory until the record under way is on disk; the successor goes on from it', async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'audit-spool-close-'));
    const dir = join(spoolDir, 'default');
    const entry = (id: string) => ({ id, at: new Date(0).toISOString(), record: { id } });
    const stopping = new SpoolLog(dir, 1 << 20, 1 << 30);
    await stopping.open();
    const kept = stopping.append(entry('old-1'));
    stopping.close();
    // Its write is under way: a successor taking the directory now would write its own line under the same number.
    expect(existsSync(join(dir, 'lock'))).toBe(true);
    await kept;
    await waitFor(() => !existsSync(join(dir, 'lock')), 'the directory to be let go');
    await expect(stopping.append(entry('old-2'))).rejects.toThrow('the spool is closed');

    const successor = new SpoolLog(dir, 1 << 20, 1 << 30);
    await successor.open();
    await successor.append(entry('new-1'));
    successor.close();
    const lines = (await readFile(join(dir, 'segment-0000000000000001.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l) as { seq: number; id: string })).toMatchObject([
      { seq: 1, id: 'old-1' },
      { seq: 2, id: 'new-1' },
    ]);
    expect(await verifyAuditSpool(dir)).toMatchObject({ ok: true, records: 2 });
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAuditSpool } from '../../src/index.js';
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

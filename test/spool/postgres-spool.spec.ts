import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { verifyAuditSpool } from '../../src/index.js';
import { type ChildApp, forkApp, killApp, sleep, until } from '../support/child-app.js';
import { PostgresServer } from '../support/postgres-server.js';

/*
 * The alternate audit log against a real PostgreSQL 15 under a steady write
 * load, the application a separate Node process (the built package, dist/,
 * built by `npm test` before jest runs) so that it can be SIGKILLed. The
 * database is frozen (SIGSTOP on the postmaster and its children) or stopped
 * mid-load; after it is back, every record whose track() resolved must be in
 * PostgreSQL, once, or more than once under the same id (a write that hung,
 * was spooled, and then landed after all; or a replay cut short by the kill
 * before it could be marked done): none is lost.
 */

const fixture = fileURLToPath(new URL('./fixtures/spool-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const TEST_TIMEOUT_MS = 90_000;

type AppMessage =
  | { kind: 'ready' }
  | { kind: 'ack'; id: string }
  | { kind: 'lost'; id: string }
  | {
      kind: 'event';
      event: {
        type: string;
        writesFailed?: number;
        recordsSpooled?: number | null;
        recordsLost?: number | null;
        eventsLost?: number;
        recordsReplayed?: number;
      };
    }
  | { kind: 'status'; pending: number; state: string };

type App = ChildApp<AppMessage>;

describe('the spool through a real PostgreSQL outage, the application killed in some runs', () => {
  const server = new PostgresServer();
  let spoolDir: string;
  let apps: App[] = [];

  beforeAll(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
    await server.start();
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    // No unique key on purpose: a duplicate must show, not be absorbed.
    await client.query('CREATE TABLE audit_trail (id text NOT NULL, writer text NOT NULL, n int NOT NULL)');
    await client.end();
  }, TEST_TIMEOUT_MS);

  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'audit-spool-pg-'));
    apps = [];
  });

  afterEach(async () => {
    server.thaw();
    await server.start();
    for (const app of apps) if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await rm(spoolDir, { recursive: true, force: true });
    await query('TRUNCATE audit_trail');
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await server.dispose();
  }, TEST_TIMEOUT_MS);

  async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  async function startApp(writer: string): Promise<App> {
    const app = await forkApp<AppMessage>(fixture, {
      DATABASE_URL: server.connectionString,
      SPOOL_DIR: spoolDir,
      WRITER: writer,
    });
    apps.push(app);
    return app;
  }

  const acked = (): string[] => apps.flatMap((a) => a.messages.flatMap((m) => (m.kind === 'ack' ? [m.id] : [])));
  const lost = (): string[] => apps.flatMap((a) => a.messages.flatMap((m) => (m.kind === 'lost' ? [m.id] : [])));
  const eventsOf = (type: string) =>
    apps.flatMap((a) => a.messages.flatMap((m) => (m.kind === 'event' && m.event.type === type ? [m.event] : [])));

  async function status(app: App): Promise<{ pending: number; state: string }> {
    const before = app.messages.length;
    app.child.send({ cmd: 'status' });
    await until('a status', () => app.messages.slice(before).some((m) => m.kind === 'status'));
    return app.messages.slice(before).find((m) => m.kind === 'status') as { pending: number; state: string };
  }

  async function stop(app: App): Promise<void> {
    const exited = new Promise<void>((resolve) => app.child.once('exit', () => resolve()));
    app.child.send({ cmd: 'stop' });
    await exited;
  }

  /** Waits until `app` has replayed its whole spool, then checks PostgreSQL against every acknowledged record. */
  async function expectNothingLost(app: App): Promise<void> {
    app.child.send({ cmd: 'pause' });
    await until(
      'the spool to drain',
      async () => {
        const { pending, state } = await status(app);
        return pending === 0 && state === 'healthy';
      },
      60_000,
    );
    await sleep(300); // the last acknowledgements of writes in flight
    const rows = await query<{ id: string; copies: string }>(
      'SELECT id, count(*) AS copies FROM audit_trail GROUP BY id',
    );
    const copies = new Map(rows.map((r) => [r.id, Number(r.copies)]));
    const ids = acked();
    expect(ids.length).toBeGreaterThan(100);
    expect(lost()).toEqual([]);
    const missing = ids.filter((id) => !copies.has(id));
    expect(missing).toEqual([]);
    // Duplicates are possible (and documented), always under the id the application gave the record.
    expect([...copies.keys()].filter((id) => !/^[a-e]-\d+$/.test(id))).toEqual([]);
  }

  it(
    'keeps every record while PostgreSQL is frozen, then replays them: the app SIGKILLed mid-outage',
    async () => {
      const first = await startApp('a');
      first.child.send({ cmd: 'write' });
      await sleep(300);
      server.freeze();
      await until('records to be spooled', async () => (await status(first)).pending > 50);
      expect(eventsOf('audit.storage.unreachable').length).toBeGreaterThan(0);

      // Killed mid-outage: what it had acknowledged is on disk, chained and intact.
      await killApp(first);
      const dir = join(spoolDir, 'default');
      // Killed mid-append, the line being written is cut short: never acknowledged, it is cut off at the next open.
      const { problems } = await verifyAuditSpool(dir);
      expect(problems.filter((p) => !p.endsWith('the last line is cut short (no line end): truncated.'))).toEqual([]);
      const spooledIds = new Set<string>();
      for (const name of (await readdir(dir)).filter((f) => f.endsWith('.jsonl'))) {
        for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
          if (line !== '') spooledIds.add((JSON.parse(line) as { id: string }).id);
        }
      }
      const rowsBefore = await (async () => {
        server.thaw();
        const rows = await query<{ id: string }>('SELECT id FROM audit_trail');
        server.freeze();
        return new Set(rows.map((r) => r.id));
      })();
      for (const id of acked()) expect(spooledIds.has(id) || rowsBefore.has(id)).toBe(true);

      // A new process on the same spool, writing through the rest of the outage.
      const second = await startApp('b');
      second.child.send({ cmd: 'write' });
      await sleep(600);
      server.thaw();
      await until('the recovery', () => eventsOf('audit.storage.recovered').length > 0);
      await expectNothingLost(second);
      const recovery = eventsOf('audit.storage.recovered')[0]!;
      // Nothing lost, though writes failed (hung in the freeze): the spool kept every record it was handed.
      expect(recovery).toMatchObject({ recordsLost: 0, eventsLost: 0 });
      expect(recovery.recordsSpooled).toBeGreaterThan(0);
      expect(recovery.writesFailed).toBeGreaterThanOrEqual(recovery.recordsSpooled!);
      expect(eventsOf('audit.spool.replayed').reduce((sum, e) => sum + (e.recordsReplayed ?? 0), 0)).toBeGreaterThan(
        50,
      );
      await stop(second);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps every record while PostgreSQL is stopped, the app SIGKILLed mid-replay',
    async () => {
      const first = await startApp('c');
      first.child.send({ cmd: 'write' });
      await sleep(300);
      await server.stop({ mode: 'fast' });
      await until('records to be spooled', async () => (await status(first)).pending > 150);
      first.child.send({ cmd: 'pause' });
      await server.start();
      // Mid-replay: some records are back in PostgreSQL, some still in the spool.
      await until('the replay to be under way', async () => {
        const { pending } = await status(first);
        return pending > 0 && pending < 120;
      });
      await killApp(first);
      expect(await verifyAuditSpool(join(spoolDir, 'default'))).toMatchObject({ ok: true });

      const second = await startApp('d');
      second.child.send({ cmd: 'write' });
      await sleep(200);
      await expectNothingLost(second);
      await stop(second);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'detects a tampered spool file',
    async () => {
      const app = await startApp('e');
      app.child.send({ cmd: 'write' });
      await sleep(200);
      server.freeze();
      await until('records to be spooled', async () => (await status(app)).pending > 20);
      await killApp(app);
      const dir = join(spoolDir, 'default');
      const [segment] = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
      const path = join(dir, segment!);
      const text = await readFile(path, 'utf8');
      await writeFile(
        path,
        text.replace(/"n":(\d+)/, (_, n: string) => `"n":${Number(n) + 1}`),
      );
      const verification = await verifyAuditSpool(dir);
      expect(verification.ok).toBe(false);
      expect(verification.problems).toEqual([`${segment} line 1: its content does not match its hash.`]);
    },
    TEST_TIMEOUT_MS,
  );
});

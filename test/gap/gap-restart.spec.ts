import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type ChildApp, forkApp, killApp, sleep, until } from '../support/child-app.js';
import { PostgresServer } from '../support/postgres-server.js';

/*
 * The gap record across a SIGKILL: a real process (the built package, dist/)
 * writing to a real PostgreSQL 15 with a spool. The database stops, the outage
 * is alerted, the database comes back, the spool replays, and the gap record
 * fails (the insert is refused); the process is killed before it tries again.
 * A new process, whose gap record works, writes the gap row: once, for the
 * outage the alert named, with what the first process's replay counted.
 */

const fixture = fileURLToPath(new URL('./fixtures/gap-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const TEST_TIMEOUT_MS = 90_000;

interface Gap {
  outageId: string;
  recordsSpooled: number | null;
  recordsReplayed: number | null;
}

type AppMessage =
  | { kind: 'ready' }
  | { kind: 'event'; event: { type: string; outageId: string } }
  | { kind: 'gap'; outcome: 'failed' | 'written'; gap: Gap };

type App = ChildApp<AppMessage>;

interface GapRow {
  outage_id: string;
  records_spooled: number;
  records_replayed: number;
  pid: number;
}

describe('a gap record through a SIGKILL, against a real PostgreSQL', () => {
  const postgres = new PostgresServer();
  let pool: pg.Pool;
  let dir: string;
  let apps: App[] = [];

  beforeAll(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
    await postgres.start();
    pool = new pg.Pool({ connectionString: postgres.connectionString, max: 2 });
    pool.on('error', () => undefined);
    await pool.query('CREATE TABLE audit_trail (id text PRIMARY KEY, n int NOT NULL)');
    await pool.query(`CREATE TABLE audit_gaps (
      outage_id text PRIMARY KEY, from_at timestamptz NOT NULL, to_at timestamptz NOT NULL, writes_failed int NOT NULL,
      records_spooled int, records_replayed int, trail_rows int NOT NULL, pid int NOT NULL)`);
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(apps.map(killApp));
    apps = [];
    if (!postgres.running) await postgres.start();
    await pool.query('TRUNCATE audit_trail, audit_gaps');
    if (dir) await rm(dir, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await pool.end();
    await postgres.dispose();
  }, TEST_TIMEOUT_MS);

  async function startApp(env: Record<string, string>): Promise<App> {
    const app = await forkApp<AppMessage>(fixture, { DATABASE_URL: postgres.connectionString, ...env });
    apps.push(app);
    return app;
  }

  const gapCalls = (app: App) => app.messages.flatMap((m) => (m.kind === 'gap' ? [m] : []));
  const eventsOf = (app: App, type: string) =>
    app.messages.flatMap((m) => (m.kind === 'event' && m.event.type === type ? [m.event] : []));
  const gapRows = async (): Promise<GapRow[]> =>
    (await pool.query<GapRow>('SELECT outage_id, records_spooled, records_replayed, pid FROM audit_gaps')).rows;

  it.each([
    ['in the spool directory', false],
    ['in the state file', true],
  ])(
    'kept %s: the gap row lands once, written by the restarted process',
    async (_where, withStateFile) => {
      dir = await mkdtemp(join(tmpdir(), 'audit-gap-restart-'));
      const env = {
        SPOOL_DIR: dir,
        ...(withStateFile ? { STATE_FILE: join(dir, 'state.json') } : {}),
      };
      const first = await startApp({ ...env, GAP_FAILS: '1' });
      await sleep(200);
      await postgres.stop({ mode: 'immediate' });
      await until('the alert', () => eventsOf(first, 'audit.storage.unreachable').length === 1);
      await postgres.start();
      await until('the recovery', () => eventsOf(first, 'audit.storage.recovered').length === 1);
      await until('the first gap record to fail', () => gapCalls(first).length === 1);
      await killApp(first);

      const [alert] = eventsOf(first, 'audit.storage.unreachable');
      const failed = gapCalls(first)[0]!.gap;
      expect(failed.outageId).toBe(alert!.outageId);
      // Called after the replay: the spool's drain was announced first.
      const replayedAt = first.messages.findIndex((m) => m.kind === 'event' && m.event.type === 'audit.spool.replayed');
      expect(replayedAt).toBeGreaterThan(-1);
      expect(replayedAt).toBeLessThan(first.messages.findIndex((m) => m.kind === 'gap'));
      expect(failed.recordsSpooled).toBeGreaterThan(0);
      // A write whose record reached the disk just after the recovery is replayed in the drain, not counted in the outage.
      expect(failed.recordsReplayed).toBeGreaterThanOrEqual(1);
      expect(await gapRows()).toEqual([]);

      const second = await startApp(env);
      await until('the gap row', async () => (await gapRows()).length === 1);
      // Anything more would come within a retry or two.
      await sleep(1_500);
      expect(await gapRows()).toEqual([
        {
          outage_id: alert!.outageId,
          records_spooled: failed.recordsSpooled,
          records_replayed: failed.recordsReplayed,
          pid: second.child.pid,
        },
      ]);
      expect(gapCalls(second).map((m) => [m.outcome, m.gap.outageId])).toEqual([['written', alert!.outageId]]);
    },
    TEST_TIMEOUT_MS,
  );
});

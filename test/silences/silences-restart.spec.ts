import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { type ChildApp, forkApp, killApp, sleep, until } from '../support/child-app.js';
import { PostgresServer } from '../support/postgres-server.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * A silence holds the alert of a real outage (PostgreSQL 15 stopped), and the
 * process that holds it gets SIGKILL before the silence ends. The alert must
 * still go out when the silence ends, once: from the restarted process (state
 * file) or from another replica (Redis). Real processes (the built package,
 * dist/: `npm run build` first), a real webhook receiver on 127.0.0.1.
 */

const fixture = fileURLToPath(new URL('./fixtures/silenced-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const TEST_TIMEOUT_MS = 90_000;
const HELD_KEY = 'audit-alert:{ledger-api:default}:held';

interface Alert {
  type: string;
  outageId: string;
  occurrence?: number;
}

type AppMessage =
  | { kind: 'ready'; state: string }
  | { kind: 'event'; event: Alert }
  | { kind: 'silenced'; id: string }
  | { kind: 'silences'; ids: string[] };

type App = ChildApp<AppMessage>;

describe('a held alert across the death of the process that held it', () => {
  const postgres = new PostgresServer();
  const redis = new RedisServer();
  let webhook: HttpReceiver;
  let dir: string | undefined;
  let apps: App[] = [];

  beforeAll(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
    await Promise.all([postgres.start(), redis.start()]);
    const client = new pg.Client({ connectionString: postgres.connectionString });
    await client.connect();
    await client.query('CREATE TABLE audit_trail (pid int NOT NULL, n int NOT NULL)');
    await client.end();
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(apps.map(killApp));
    apps = [];
    await webhook?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
    if (!postgres.running) await postgres.start();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([postgres.dispose(), redis.dispose()]);
  }, TEST_TIMEOUT_MS);

  async function startApp(env: Record<string, string>): Promise<App> {
    const app = await forkApp<AppMessage>(fixture, {
      DATABASE_URL: postgres.connectionString,
      WEBHOOK_URL: webhook.url('/alerts'),
      ...env,
    });
    apps.push(app);
    return app;
  }

  async function silence(app: App, durationMs: number): Promise<void> {
    app.child.send({ kind: 'silence', durationMs });
    await until('the silence', () => app.messages.some((m) => m.kind === 'silenced'));
  }

  const eventsOf = (app: App): Alert[] => app.messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
  const alerts = (): Alert[] => webhook.bodies() as Alert[];
  const unreachable = (): Alert[] => alerts().filter((a) => a.type === 'audit.storage.unreachable');

  it(
    'with the state file: the restarted process sends it once when the silence ends',
    async () => {
      webhook = await HttpReceiver.start();
      dir = await mkdtemp(join(tmpdir(), 'audit-alert-silence-'));
      const file = join(dir, 'state.json');
      const first = await startApp({ STATE_FILE: file });
      await silence(first, 8_000);
      await postgres.stop({ mode: 'immediate' });
      let held: { event: Alert }[] = [];
      await until('the state file to keep the held alert', async () => {
        const content = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as {
          monitors?: { default?: { state?: string } };
          silences?: { held?: { event: Alert }[] };
        };
        held = content.silences?.held ?? [];
        return held.length === 1 && content.monitors?.default?.state === 'alerting';
      });
      expect(unreachable()).toEqual([]);
      expect(eventsOf(first)).toEqual([]);
      await killApp(first);

      const second = await startApp({ STATE_FILE: file });
      expect(second.messages[0]).toEqual({ kind: 'ready', state: 'alerting' });
      await until('the held alert', () => unreachable().length > 0, 20_000);
      // A second send would come within a few writes.
      await sleep(1_500);
      const outageId = held[0]!.event.outageId;
      expect(unreachable()).toEqual([expect.objectContaining({ outageId, occurrence: 1 })]);
      expect(eventsOf(second)).toEqual([expect.objectContaining({ type: 'audit.storage.unreachable', outageId })]);

      // Nothing is left held: the recovery follows, and the file keeps no held alert.
      await postgres.start();
      await until('the recovery', () => alerts().some((a) => a.type === 'audit.storage.recovered'));
      expect(alerts().map((a) => [a.type, a.outageId])).toEqual([
        ['audit.storage.unreachable', outageId],
        ['audit.storage.recovered', outageId],
      ]);
      const kept = JSON.parse(await readFile(file, 'utf8')) as { silences: { silences: unknown[]; held: unknown[] } };
      expect(kept.silences).toEqual({ silences: [], held: [] });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with Redis (cluster): another replica sends it once when the silence ends',
    async () => {
      await redis.cli('FLUSHALL');
      webhook = await HttpReceiver.start();
      const a = await startApp({ REDIS_URL: redis.url, REPLICA_ID: 'replica-a' });
      const b = await startApp({ REDIS_URL: redis.url, REPLICA_ID: 'replica-b' });
      await silence(a, 8_000);
      // Replica b reads the silence now rather than within 5 s: either may claim the alert.
      b.child.send({ kind: 'list' });
      await until('replica b to read the silence', () =>
        b.messages.some((m) => m.kind === 'silences' && m.ids.length === 1),
      );
      await postgres.stop({ mode: 'immediate' });
      await until('an alert held in Redis', async () => (await redis.cli('HLEN', HELD_KEY)).trim() === '1');
      const holder = [a, b].find((app) => app.output.includes('held by silence'));
      expect(holder).toBeDefined();
      const survivor = holder === a ? b : a;
      const [record] = (await redis.cli('HVALS', HELD_KEY)).trim().split('\n');
      const { outageId } = (JSON.parse(record!) as { event: Alert }).event;
      expect(unreachable()).toEqual([]);
      await killApp(holder!);

      // The silence ends; the survivor steps in a read (5 s) later.
      await until('the held alert', () => unreachable().length > 0, 30_000);
      await sleep(1_500);
      expect(unreachable()).toEqual([expect.objectContaining({ outageId, occurrence: 1 })]);
      expect(eventsOf(survivor)).toEqual([expect.objectContaining({ type: 'audit.storage.unreachable', outageId })]);
      expect((await redis.cli('HLEN', HELD_KEY)).trim()).toBe('0');
    },
    TEST_TIMEOUT_MS,
  );
});

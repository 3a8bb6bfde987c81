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
 * The application killed mid-outage, as Kubernetes does to a pod whose probes
 * fail: a real process (the built package, dist/, built by `npm test` before
 * jest runs) writing to a real PostgreSQL 15 with a PagerDuty channel pointed
 * at a real receiver on 127.0.0.1. The database stops, the alert pages, the
 * process gets SIGKILL and starts again while the database is still down,
 * then the database comes back. Whatever keeps the open outage (a state
 * file, Redis, or nothing), no incident may stay open.
 */

const fixture = fileURLToPath(new URL('./fixtures/restart-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const TEST_TIMEOUT_MS = 90_000;
const MONITOR_KEY = 'audit-storage:ledger-api:default';

interface Outage {
  type: string;
  outageId: string;
  occurrence?: number;
}

type AppMessage =
  { kind: 'ready'; state: string } | { kind: 'event'; event: Outage } | { kind: 'state'; state: string };

type App = ChildApp<AppMessage>;

interface Page {
  event_action: string;
  dedup_key: string;
}

describe('an application killed and restarted mid-outage, against a real PostgreSQL', () => {
  const postgres = new PostgresServer();
  const redis = new RedisServer();
  let pagerduty: HttpReceiver;
  let dir: string;
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
    await pagerduty?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (!postgres.running) await postgres.start();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([postgres.dispose(), redis.dispose()]);
  }, TEST_TIMEOUT_MS);

  async function startApp(env: Record<string, string>): Promise<App> {
    const app = await forkApp<AppMessage>(fixture, {
      DATABASE_URL: postgres.connectionString,
      PAGERDUTY_URL: pagerduty.url('/v2/enqueue'),
      ...env,
    });
    apps.push(app);
    return app;
  }

  const eventsOf = (app: App): Outage[] => app.messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
  const states = (app: App): string[] => app.messages.flatMap((m) => (m.kind === 'event' ? [] : [m.state]));
  const pages = (): Page[] => pagerduty.bodies() as Page[];
  const count = (action: string): number => pages().filter((p) => p.event_action === action).length;

  /**
   * With nothing kept, incidents are keyed by monitor and a process's first success resolves the one a process
   * before it may have left open. The first process starts with the database up: waiting for that resolve lets
   * the database stop after a write went through, every run, rather than before or after one by chance (which
   * decided whether the run had that page, and let it pass for the trigger).
   */
  const firstSuccess = (): Promise<void> =>
    until('the resolve of what a process before may have left open', () => count('resolve') === 1);

  /** The alert from the first process, the recovery from the second, one outage, one incident. */
  function expectOneOutageOneIncident(first: App, second: App): void {
    const outageId = eventsOf(first)[0]!.outageId;
    expect(eventsOf(first).map((e) => [e.type, e.outageId])).toEqual([['audit.storage.unreachable', outageId]]);
    expect(eventsOf(second).map((e) => [e.type, e.outageId])).toEqual([['audit.storage.recovered', outageId]]);
    expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
      ['trigger', `${MONITOR_KEY}:${outageId}`],
      ['resolve', `${MONITOR_KEY}:${outageId}`],
    ]);
  }

  /**
   * Runs the outage through a SIGKILL; `beforeKill` waits for what the store must hold first.
   * @param keptNowhere Nothing keeps the outage: incidents are keyed by monitor (see {@link firstSuccess}).
   */
  async function outageThroughKill(env: Record<string, string>, beforeKill: () => Promise<void>, keptNowhere = false) {
    pagerduty = await HttpReceiver.start();
    pagerduty.fallback = { status: 202 };
    const first = await startApp(env);
    if (keptNowhere) await firstSuccess();
    await postgres.stop({ mode: 'immediate' });
    await until('the trigger', () => count('trigger') === 1);
    await beforeKill();
    await killApp(first);

    const second = await startApp(env);
    // Down still: the restarted process sees the outage go on for a while (past its threshold) before it ends.
    await until('the restarted process to see the outage', () => states(second).includes('alerting'));
    await sleep(1_200);
    const resolves = count('resolve');
    await postgres.start();
    await until('the resolve', () => count('resolve') > resolves);
    // Anything more would come within a few writes.
    await sleep(300);
    return { first, second };
  }

  it(
    'with the state file: one trigger, one resolve, one outageId across both processes',
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'audit-alert-restart-'));
      const file = join(dir, 'state.json');
      const { first, second } = await outageThroughKill({ STATE_FILE: file }, () =>
        until('the state file to record the alert', async () => {
          const content = await readFile(file, 'utf8').catch(() => '{}');
          return (
            (JSON.parse(content) as { monitors?: { default?: { state?: string } } }).monitors?.default?.state ===
            'alerting'
          );
        }),
      );
      expect(second.messages[0]).toEqual({ kind: 'ready', state: 'alerting' });
      expectOneOutageOneIncident(first, second);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with the state file and fromOccurrence 2: the restarted process resolves the incident the repeat opened',
    async () => {
      // Issue #20, item 12: the restarted channel had not seen the repeat that paged, and dropped the recovery.
      dir = await mkdtemp(join(tmpdir(), 'audit-alert-restart-'));
      const file = join(dir, 'state.json');
      const env = { STATE_FILE: file, COOLDOWN_MS: '8000', FROM_OCCURRENCE: '2' };
      pagerduty = await HttpReceiver.start();
      pagerduty.fallback = { status: 202 };
      const first = await startApp(env);
      await postgres.stop({ mode: 'immediate' });
      // The first alert is not sent to PagerDuty; its repeat, a cooldown later, is.
      await until('the repeat to page', () => count('trigger') === 1);
      expect(eventsOf(first).map((e) => e.occurrence)).toEqual([1, 2]);
      await until('the state file to record the repeat', async () => {
        const content = await readFile(file, 'utf8').catch(() => '{}');
        const saved = (JSON.parse(content) as { monitors?: { default?: { unreachableOccurrence?: number } } }).monitors;
        return saved?.default?.unreachableOccurrence === 2;
      });
      await killApp(first);

      // Back before the resumed outage's next repeat is due: the new process sends no alert of its own.
      const second = await startApp(env);
      await until('the restarted process to be ready', () => second.messages.length > 0);
      expect(second.messages[0]).toEqual({ kind: 'ready', state: 'alerting' });
      await postgres.start();
      await until('the recovery', () => eventsOf(second).some((e) => e.type === 'audit.storage.recovered'));
      await until('the resolve', () => count('resolve') === 1);
      await sleep(300);

      const outageId = eventsOf(first)[0]!.outageId;
      expect(eventsOf(second).map((e) => [e.type, e.outageId])).toEqual([['audit.storage.recovered', outageId]]);
      expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
        ['trigger', `${MONITOR_KEY}:${outageId}`],
        ['resolve', `${MONITOR_KEY}:${outageId}`],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with Redis (cluster): one trigger, one resolve, one outageId across both processes',
    async () => {
      await redis.cli('FLUSHALL');
      // As the file above: the kill comes once Redis holds the alert as delivered (confirmed by its claimer).
      const { first, second } = await outageThroughKill({ REDIS_URL: redis.url }, () =>
        until('Redis to record the alert as delivered', async () => {
          const records = (await redis.cli('HVALS', 'audit-alert:{ledger-api:default}:outages')).trim();
          return records !== '' && (JSON.parse(records.split('\n')[0]!) as { confirmed?: number }).confirmed === 1;
        }),
      );
      expectOneOutageOneIncident(first, second);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with nothing kept: the restarted process pages into the same incident and resolves it',
    async () => {
      const { first, second } = await outageThroughKill({}, async () => undefined, true);
      // The outage starts over in the new process, under a new id: hooks hear of two.
      const [firstId, secondId] = [eventsOf(first)[0]!.outageId, eventsOf(second)[0]!.outageId];
      expect(firstId).not.toBe(secondId);
      expect(eventsOf(second).map((e) => [e.type, e.outageId])).toEqual([
        ['audit.storage.unreachable', secondId],
        ['audit.storage.recovered', secondId],
      ]);
      // PagerDuty sees one incident, keyed by monitor: triggered (twice) and resolved, after the first
      // process's start resolved it in case a process before had left it open.
      expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
        ['resolve', MONITOR_KEY],
        ['trigger', MONITOR_KEY],
        ['trigger', MONITOR_KEY],
        ['resolve', MONITOR_KEY],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with nothing kept, and the database back before the restart: the first success resolves the incident',
    async () => {
      pagerduty = await HttpReceiver.start();
      pagerduty.fallback = { status: 202 };
      const first = await startApp({});
      await firstSuccess();
      await postgres.stop({ mode: 'immediate' });
      await until('the trigger', () => count('trigger') === 1);
      await killApp(first);
      await postgres.start();
      const second = await startApp({});
      await until('the resolve', () => count('resolve') === 2);
      await sleep(300);
      expect(pages().map((p) => [p.event_action, p.dedup_key])).toEqual([
        ['resolve', MONITOR_KEY],
        ['trigger', MONITOR_KEY],
        ['resolve', MONITOR_KEY],
      ]);
      // Hooks are not told: they never heard of an outage in this process.
      expect(eventsOf(second)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditStorageMonitor,
  type StorageDegradedEvent,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { pgPoolProbe } from '../../src/pg/pg-pool.probe.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';
import { RecordingHook } from './support/recording-hook.js';

/*
 * The shapes in which audit trails are really lost, against the suite's own
 * PostgreSQL 15: a server that hangs, one that refuses writes but answers
 * reads, one that refuses a share of the writes, one that flaps. Time is the
 * injected clock: the application writes every TICK_MS of it; the database's
 * own answers come in real time, and every wait for them is bounded.
 */

const TICK_MS = 100;
const THRESHOLD_MS = 1_000;
const TEST_TIMEOUT_MS = 60_000;
/** Longest real wait for the database to answer writes it was holding. */
const SETTLE_MS = 10_000;

interface Harness {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly monitor: AuditStorageMonitor;
  readonly hook: RecordingHook;
  readonly pool: pg.Pool;
  /** Every write started, settled or not. */
  readonly writes: Promise<boolean>[];
}

let server: PostgresServer;
let harness: Harness | undefined;

beforeAll(async () => {
  server = new PostgresServer();
  await server.start();
  await sql('CREATE TABLE audit_trail (id bigserial PRIMARY KEY, seq integer NOT NULL, action text NOT NULL)');
}, TEST_TIMEOUT_MS);

afterEach(async () => {
  server.thaw();
  await server.start();
  await server.setReadOnly(false);
  await harness?.app.close();
  await harness?.pool.end();
  harness = undefined;
  await sql('DROP TRIGGER IF EXISTS reject_even ON audit_trail; TRUNCATE audit_trail');
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await server?.dispose();
}, TEST_TIMEOUT_MS);

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function start(options: AuditAlertModuleOptions, poolOptions: pg.PoolConfig = {}): Promise<Harness> {
  const clock = new ManualClock();
  // No query or connection timeout: pg's defaults, under which a hung server hangs every write.
  const pool = new pg.Pool({ connectionString: server.connectionString, max: 4, ...poolOptions });
  pool.on('error', () => undefined);
  const moduleRef = await Test.createTestingModule({
    imports: [AuditAlertModule.forRoot({ serviceName: 'ledger-api', thresholdMs: THRESHOLD_MS, ...options })],
    providers: [RecordingHook],
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  harness = { app, clock, monitor: app.get(AuditStorageMonitor), hook: app.get(RecordingHook), pool, writes: [] };
  return harness;
}

let sequence = 0;

/** Starts one audit write through track(); its promise tells whether it landed. */
function write({ monitor, pool, writes }: Harness): Promise<boolean> {
  sequence += 1;
  const landed = monitor
    .track(() => pool.query('INSERT INTO audit_trail (seq, action) VALUES ($1, $2)', [sequence, `action-${sequence}`]))
    .then(
      () => true,
      () => false,
    );
  writes.push(landed);
  return landed;
}

/** Writes once per tick for `ticks` ticks, waiting for each write to settle. */
async function writeSteadily(h: Harness, ticks: number): Promise<boolean[]> {
  const outcomes: boolean[] = [];
  for (let i = 0; i < ticks; i += 1) {
    outcomes.push(await write(h));
    h.clock.advance(TICK_MS);
    await flush();
  }
  return outcomes;
}

/** Resolves with `promise`, or rejects after `ms` of real time. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

async function rows(): Promise<number> {
  const client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  try {
    const {
      rows: [row],
    } = await client.query<{ count: string }>('SELECT count(*) FROM audit_trail');
    return Number(row?.count);
  } finally {
    await client.end();
  }
}

const types = (h: Harness) => h.hook.events.map((e) => e.type);

describe('shapes of audit loss against a real PostgreSQL 15', () => {
  it(
    'a frozen server (SIGSTOP) under steady writes: unreachable within twice the threshold, recovered after SIGCONT',
    async () => {
      const h = await start({});
      expect(await writeSteadily(h, 5)).toEqual([true, true, true, true, true]);
      const lastLandedAt = h.clock.wallNow() - TICK_MS;

      server.freeze();
      const frozenAt = h.clock.wallNow();
      // The writes hang: nothing settles, and the application keeps writing every tick.
      for (let elapsed = 0; elapsed < 2 * THRESHOLD_MS; elapsed += TICK_MS) {
        void write(h);
        h.clock.advance(TICK_MS);
        await flush();
      }
      expect(types(h)).toEqual(['audit.storage.unreachable']);
      const alert = h.hook.events[0] as StorageUnreachableEvent;
      // The default writeTimeoutMs (the 1 s threshold) found the first stuck write and dated the outage from its
      // start, to within one sweep (writeTimeoutMs / 8): the writes started between two sweeps share a start,
      // and a failure is never dated before a write that landed (the sweep that saw it land bounds it).
      expect(alert.firstFailureAt.getTime()).toBeGreaterThan(lastLandedAt);
      expect(alert.firstFailureAt.getTime()).toBeGreaterThanOrEqual(frozenAt - THRESHOLD_MS / 8);
      expect(alert.firstFailureAt.getTime()).toBeLessThanOrEqual(frozenAt + THRESHOLD_MS / 8);
      expect(alert.unreachableDurationMs).toBeLessThanOrEqual(2 * THRESHOLD_MS);
      expect(alert.lastError).toMatch(
        /^AuditWriteTimeoutError: \d+ audit writes? did not complete within 1000 ms \(writeTimeoutMs\)/,
      );
      expect(h.monitor.getStatus()).toMatchObject({ state: 'alerting', pendingWrites: 20 });

      server.thaw();
      // Not cancelled: every held write lands once the server runs again, and the first success recovers.
      const landed = await within(Promise.all(h.writes), SETTLE_MS, 'the held writes');
      expect(landed.every(Boolean)).toBe(true);
      await flush();
      expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
      expect((h.hook.events[1] as StorageRecoveredEvent).outageId).toBe(alert.outageId);
      expect(await rows()).toBe(25);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'four freezes in a row (SIGSTOP, then SIGCONT while some writes still settle): each paged once, resolved once, nothing after',
    async () => {
      const h = await start({});
      // Another session holds a lock the last writes of each freeze wait for after the thaw: they are
      // still settling after the recovery, when a sweep finds them past the limit.
      const holder = new pg.Client({ connectionString: server.connectionString });
      await holder.connect();
      const straggle = (): Promise<boolean> => {
        sequence += 1;
        const landed = h.monitor
          .track(() =>
            h.pool.query(
              'INSERT INTO audit_trail (seq, action) SELECT $1, $2 FROM (SELECT pg_advisory_xact_lock_shared(7)) AS lock',
              [sequence, `straggler-${sequence}`],
            ),
          )
          .then(
            () => true,
            () => false,
          );
        h.writes.push(landed);
        return landed;
      };
      try {
        for (let round = 0; round < 4; round += 1) {
          expect((await writeSteadily(h, 3)).every(Boolean)).toBe(true);
          const before = h.hook.events.length;
          await holder.query('SELECT pg_advisory_lock(7)');

          server.freeze();
          // Three writes a tick; the oldest are found hung and paged. Of the last tick's three, a limit before
          // the thaw (so not hung yet then), one lands at the thaw and two wait for the lock: the same
          // generation of the hung-write sweep both answered and still pending. Then no write starts: every
          // writer of the application waits for one of these (a pool, a worker queue).
          const held: Promise<boolean>[] = [];
          const stragglers: Promise<boolean>[] = [];
          const lastTick = THRESHOLD_MS + TICK_MS;
          for (let elapsed = 0; elapsed < 2 * THRESHOLD_MS; elapsed += TICK_MS) {
            if (elapsed < lastTick) for (let i = 0; i < 3; i += 1) held.push(write(h));
            if (elapsed === lastTick) {
              held.push(write(h));
              stragglers.push(straggle(), straggle());
            }
            h.clock.advance(TICK_MS);
            await flush();
          }
          expect(types(h).slice(before)).toEqual(['audit.storage.unreachable']);
          const paged = h.hook.events[before] as StorageUnreachableEvent;

          server.thaw();
          expect((await within(Promise.all(held), SETTLE_MS, 'the held writes')).every(Boolean)).toBe(true);
          await flush();
          // The first write that landed recovered the outage; the stragglers still wait.
          expect(types(h).slice(before)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
          const recovered = h.hook.events[before + 1] as StorageRecoveredEvent;
          expect(recovered.outageId).toBe(paged.outageId);

          // Two sweeps on: the stragglers, started a limit before the thaw, have been found hung, after the recovery.
          for (let elapsed = 0; elapsed < 2 * TICK_MS + THRESHOLD_MS / 8; elapsed += TICK_MS / 4) {
            h.clock.advance(TICK_MS / 4);
            await flush(1);
          }
          const status = h.monitor.getStatus();
          expect(status).toMatchObject({ state: 'failing', consecutiveFailures: stragglers.length });
          // Counted (they hung past writeTimeoutMs), but dated after the recovery, so not past the threshold.
          expect(status.firstFailureAt!.getTime()).toBeGreaterThan(recovered.recoveredAt.getTime());
          expect(types(h).slice(before)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);

          // A few real milliseconds later they land, and the application writes on.
          await new Promise((resolve) => setTimeout(resolve, 20));
          await holder.query('SELECT pg_advisory_unlock(7)');
          expect((await within(Promise.all(stragglers), SETTLE_MS, 'the stragglers')).every(Boolean)).toBe(true);
          await flush();
          expect(h.monitor.getStatus().state).toBe('healthy');
          expect((await writeSteadily(h, 2 * (THRESHOLD_MS / TICK_MS))).every(Boolean)).toBe(true);

          // One outage, paged (repeats of it only), one recovery, and nothing after it.
          const events = h.hook.events.slice(before);
          expect(new Set(events.map((e) => e.outageId))).toEqual(new Set([paged.outageId]));
          expect(events.at(-1)!.type).toBe('audit.storage.recovered');
          expect(events.slice(0, -1).every((e) => e.type === 'audit.storage.unreachable')).toBe(true);
          expect(h.monitor.getStatus().state).toBe('healthy');
        }
      } finally {
        await holder.end();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a read-only failover with a SELECT 1 probe: every write fails, the probe passes, unreachable at the threshold',
    async () => {
      let probes = 0;
      let probing: Promise<unknown> = Promise.resolve();
      const h = await start({
        probe: {
          // A read probe, as docs/kubernetes.md once advised: it passes on a read-only standby.
          check: () => {
            probes += 1;
            probing = harness!.pool.query('SELECT 1');
            return probing;
          },
          intervalMs: 300,
        },
      });
      expect(await writeSteadily(h, 3)).toEqual([true, true, true]);

      await server.setReadOnly(true);
      // The application keeps writing, every write refused; the probe passes all along.
      const outcomes: boolean[] = [];
      for (let elapsed = 0; elapsed < 2 * THRESHOLD_MS; elapsed += TICK_MS) {
        outcomes.push(await write(h));
        h.clock.advance(TICK_MS);
        await within(probing, SETTLE_MS, 'the probe');
        await flush();
      }
      expect(outcomes.some(Boolean)).toBe(false);
      expect(probes).toBeGreaterThanOrEqual(5);
      expect(types(h)).toEqual(['audit.storage.unreachable']);
      const alert = h.hook.events[0] as StorageUnreachableEvent;
      expect(alert.unreachableDurationMs).toBe(THRESHOLD_MS);
      expect(alert.consecutiveFailures).toBe(THRESHOLD_MS / TICK_MS);
      expect(alert.probeFailures).toBe(0);
      expect(alert.lastError).toMatch(/cannot execute INSERT in a read-only transaction/);

      await server.setReadOnly(false);
      expect(await writeSteadily(h, 2)).toEqual([true, true]);
      expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
      expect(await rows()).toBe(5);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a server switched to read-only, with the documented insert-and-rollback probe: alerted after the threshold',
    async () => {
      let probing: Promise<unknown> = Promise.resolve();
      const h = await start({
        probe: {
          check: () => {
            probing = pgPoolProbe(harness!.pool, { table: 'audit_trail', row: { seq: 0, action: 'probe' } })();
            return probing;
          },
          intervalMs: 200,
        },
      });
      expect(await writeSteadily(h, 3)).toEqual([true, true, true]);

      await server.setReadOnly(true);
      // One write fails, then the application writes nothing more: only the probe speaks.
      expect(await write(h)).toBe(false);
      for (let elapsed = 0; elapsed < THRESHOLD_MS; elapsed += TICK_MS) {
        h.clock.advance(TICK_MS);
        await within(
          probing.catch(() => undefined),
          SETTLE_MS,
          'the probe',
        );
        await flush();
      }
      expect(types(h)).toEqual(['audit.storage.unreachable']);
      const alert = h.hook.events[0] as StorageUnreachableEvent;
      expect(alert.unreachableDurationMs).toBe(THRESHOLD_MS);
      expect(alert.lastError).toMatch(/read-only transaction/);
      expect(alert.consecutiveFailures).toBe(1);
      expect(alert.probeFailures).toBeGreaterThanOrEqual(4);
      expect(h.monitor.getStatus().lastProbeError).toMatch(/cannot execute INSERT in a read-only transaction/);

      await server.setReadOnly(false);
      h.clock.advance(200);
      await within(probing, SETTLE_MS, 'the probe');
      await flush();
      expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
      expect(await rows()).toBe(3);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a partial outage (a trigger rejects every other row): degraded, then unreachable when the server stops, one outageId',
    async () => {
      const h = await start({ cooldownMs: 600_000 }, { connectionTimeoutMillis: 2_000 });
      expect(await writeSteadily(h, 5)).toEqual([true, true, true, true, true]);
      await sql(`
        CREATE FUNCTION reject_even() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.seq % 2 = 0 THEN RAISE EXCEPTION 'replica 2 rejected audit row %', NEW.seq; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER reject_even BEFORE INSERT ON audit_trail FOR EACH ROW EXECUTE FUNCTION reject_even();
      `);

      // Half of the writes fail, each success ending the run of failures: 20 writes, two windows.
      const partial = await writeSteadily(h, 20);
      expect(partial.filter((ok) => !ok)).toHaveLength(10);
      expect(types(h)).toEqual(['audit.storage.degraded']);
      const degraded = h.hook.events[0] as StorageDegradedEvent;
      expect(degraded.failureRatio).toBeGreaterThanOrEqual(0.5);
      expect(degraded.lastError).toMatch(/replica 2 rejected audit row \d+/);
      expect(h.monitor.getStatus().state).toBe('degraded');

      await server.stop({ mode: 'fast' });
      const down = await writeSteadily(h, 12);
      expect(down.every((ok) => !ok)).toBe(true);
      expect(types(h)).toEqual(['audit.storage.degraded', 'audit.storage.unreachable']);
      const unreachable = h.hook.events[1] as StorageUnreachableEvent;
      expect(unreachable.outageId).toBe(degraded.outageId);
      expect(unreachable.firstFailureAt).toEqual(degraded.firstFailureAt);

      await server.start();
      await sql('DROP TRIGGER reject_even ON audit_trail; DROP FUNCTION reject_even()');
      // Writes succeed again: back to degraded, then the ratio stays low for a window and the outage ends.
      await writeSteadily(h, 25);
      expect(types(h)).toEqual(['audit.storage.degraded', 'audit.storage.unreachable', 'audit.storage.recovered']);
      expect(new Set(h.hook.events.map((e) => e.outageId))).toEqual(new Set([degraded.outageId]));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a flapping server with recoveryHoldMs: one outage, one recovery',
    async () => {
      const h = await start({ recoveryHoldMs: 2_000 }, { connectionTimeoutMillis: 2_000 });
      expect(await writeSteadily(h, 3)).toEqual([true, true, true]);

      for (let flap = 0; flap < 3; flap += 1) {
        await server.stop({ mode: 'fast' });
        expect((await writeSteadily(h, 15)).some(Boolean)).toBe(false); // down 1.5 s
        await server.start();
        expect((await writeSteadily(h, 3)).every(Boolean)).toBe(true); // up 0.3 s
        expect(h.monitor.getStatus().state).toBe('recovering');
      }
      expect(types(h)).toEqual(['audit.storage.unreachable']);

      await writeSteadily(h, 20); // up for good
      expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
      const [alert, recovered] = h.hook.events as [StorageUnreachableEvent, StorageRecoveredEvent];
      expect(recovered.outageId).toBe(alert.outageId);
      expect(recovered.eventsAffected).toBe(45);
      expect(h.monitor.getStatus().state).toBe('healthy');
    },
    TEST_TIMEOUT_MS,
  );
});

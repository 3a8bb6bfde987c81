import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type INestApplication,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  AuditStorageMonitor,
  isStorageRecoveredEvent,
  isStorageUnreachableEvent,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';
import { RecordingHook } from './support/recording-hook.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

/** Simulated time between two writes of the application. */
const TICK_MS = 100;
const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 2_000;
const TEST_TIMEOUT_MS = 60_000;

const AUDIT_POOL = Symbol('AUDIT_POOL');

/** The application's audit trail, written to PostgreSQL through the monitor. */
@Injectable()
class AuditTrailService {
  private sequence = 0;

  constructor(
    private readonly monitor: AuditStorageMonitor,
    @Inject(AUDIT_POOL) private readonly pool: pg.Pool,
  ) {}

  async write(): Promise<void> {
    this.sequence += 1;
    await this.monitor.track(() =>
      this.pool.query('INSERT INTO audit_trail (action) VALUES ($1)', [`action-${this.sequence}`]),
    );
  }
}

@Module({})
class AuditStorageModule implements OnApplicationShutdown {
  constructor(@Inject(AUDIT_POOL) private readonly pool: pg.Pool) {}

  static forDatabase(connectionString: string): DynamicModule {
    return {
      module: AuditStorageModule,
      providers: [
        {
          provide: AUDIT_POOL,
          useFactory: () => {
            // Short timeout: a write must fail fast, not queue, while the database is away.
            const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 2_000 });
            // A fast shutdown cuts the idle clients off; the pool drops them and reports it here.
            pool.on('error', () => undefined);
            return pool;
          },
        },
        AuditTrailService,
      ],
      exports: [AuditTrailService],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** A running application and what the test observes of it. */
interface Harness {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly audit: AuditTrailService;
  readonly hook: RecordingHook;
  /** The endpoint of the application's webhook channel. */
  readonly receiver: WebhookReceiver;
}

async function startApplication(databaseUrl: string): Promise<Harness> {
  const clock = new ManualClock();
  const receiver = await WebhookReceiver.start();
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuditAlertModule.forRoot({
          serviceName: 'ledger-api',
          thresholdMs: THRESHOLD_MS,
          cooldownMs: COOLDOWN_MS,
          // These outages follow each other a few writes apart, which the degraded detector
          // rightly reports (most writes of the last second failed); here only the run-of-failures
          // rules are under test; degraded detection has proofs of its own.
          degraded: false,
          // No retries: their waits run on the manual clock, and a lost delivery should fail the test at once.
          channels: [{ type: 'webhook', url: receiver.url, retries: 0 }],
        }),
        AuditStorageModule.forDatabase(databaseUrl),
      ],
      providers: [RecordingHook],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { app, clock, audit: app.get(AuditTrailService), hook: app.get(RecordingHook), receiver };
  } catch (error) {
    // A receiver left listening would keep Jest from exiting.
    await receiver.close();
    throw error;
  }
}

/**
 * Lets the alerts raised so far reach the hook, then waits for the webhook
 * channel to have POSTed the same events, in the same order.
 */
async function deliver({ hook, receiver }: Harness): Promise<void> {
  await flush();
  await receiver.waitForEvents(hook.events.length);
  expect(receiver.events).toEqual(JSON.parse(JSON.stringify(hook.events)));
}

/** One write of the application, then one tick of simulated time; tells whether the write landed. */
async function writeAndTick({ audit, clock }: Harness): Promise<boolean> {
  try {
    await audit.write();
    return true;
  } catch {
    return false;
  } finally {
    clock.advance(TICK_MS);
  }
}

/** Writes `count` times at the steady rate and returns how many of the writes failed. */
async function writeSteadily(harness: Harness, count: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < count; i += 1) if (!(await writeAndTick(harness))) failed += 1;
  return failed;
}

async function rowCount(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM audit_trail');
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL outages seen through AuditStorageMonitor.track()', () => {
  let server: PostgresServer;
  let harness: Harness | undefined;

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    await server.query('CREATE TABLE audit_trail (id bigserial PRIMARY KEY, action text NOT NULL)');
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await harness?.app.close();
    await harness?.receiver.close();
    harness = undefined;
    // Each test starts against a running server with an empty trail.
    await server.start();
    await server.query('TRUNCATE audit_trail');
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await server?.dispose();
  }, TEST_TIMEOUT_MS);

  it(
    'alerts once per long outage, repeats per cooldown, stays silent on short ones and reports each recovery',
    async () => {
      /*
       * Writes happen every 100 ms of simulated time. The first failed write of an
       * outage is at t0 and arms the 1 s threshold timer, which fires during the
       * 10th tick: an outage of 9 failed writes ends silently, one of 10 alerts.
       * A repeat needs a failed write 2 s after the previous alert: the write at
       * t0 + 3 s (the 31st), then the one at t0 + 5 s (the 51st).
       * `alerts` lists [consecutiveFailures, unreachableDurationMs] of each alert.
       */
      const outages: { failedWrites: number; alerts: [number, number][] }[] = [
        { failedWrites: 3, alerts: [] },
        { failedWrites: 10, alerts: [[10, 1_000]] },
        { failedWrites: 9, alerts: [] },
        {
          failedWrites: 52,
          alerts: [
            [10, 1_000],
            [31, 3_000],
            [51, 5_000],
          ],
        },
      ];
      harness = await startApplication(server.connectionString);
      const { hook, clock } = harness;
      let succeeded = 0;
      const alertedOutageIds: string[] = [];

      for (const outage of outages) {
        expect(await writeSteadily(harness, 3)).toBe(0);
        succeeded += 3;
        const seen = hook.events.length;

        await server.stop({ mode: 'fast' });
        const outageStartedAt = new Date(clock.wallNow());
        const failed = await writeSteadily(harness, outage.failedWrites);
        expect(failed).toBe(outage.failedWrites);
        await deliver(harness);

        // The alerts arrive while the database is still down.
        const unreachable = hook.events.slice(seen) as StorageUnreachableEvent[];
        expect(unreachable.map((e) => e.type)).toEqual(outage.alerts.map(() => 'audit.storage.unreachable'));
        expect(unreachable.map((e) => [e.consecutiveFailures, e.unreachableDurationMs])).toEqual(outage.alerts);
        expect(unreachable.map((e) => e.occurrence)).toEqual(outage.alerts.map((_, i) => i + 1));
        for (const event of unreachable) {
          expect(event).toMatchObject({
            monitor: 'default',
            serviceName: 'ledger-api',
            firstFailureAt: outageStartedAt,
          });
          expect(event.lastError).toMatch(/ECONNREFUSED/);
          expect(event.outageId).toBe(unreachable[0]?.outageId);
        }

        await server.start();
        expect(await writeAndTick(harness)).toBe(true);
        succeeded += 1;
        await deliver(harness);

        const afterOutage = hook.events.slice(seen + unreachable.length);
        if (outage.alerts.length === 0) {
          expect(afterOutage).toEqual([]);
          continue;
        }
        expect(afterOutage).toHaveLength(1);
        const recovered = afterOutage[0] as StorageRecoveredEvent;
        expect(recovered).toEqual({
          type: 'audit.storage.recovered',
          outageId: unreachable[0]?.outageId,
          monitor: 'default',
          serviceName: 'ledger-api',
          outageStartedAt,
          recoveredAt: new Date(outageStartedAt.getTime() + failed * TICK_MS),
          outageDurationMs: failed * TICK_MS,
          writesFailed: failed,
          // No spool: the records of the failed writes are the application's to account for.
          recordsSpooled: null,
          recordsLost: null,
          eventsAffected: failed,
          unreachableAlerts: outage.alerts.length,
          degradedAlerts: 0,
        });
        alertedOutageIds.push(recovered.outageId);
      }

      expect(hook.events.filter(isStorageUnreachableEvent)).toHaveLength(4);
      expect(hook.events.filter(isStorageRecoveredEvent)).toHaveLength(2);
      expect(new Set(alertedOutageIds).size).toBe(2);
      expect(harness.app.get(AuditStorageMonitor).getStatus().state).toBe('healthy');
      expect(await rowCount(server.connectionString)).toBe(succeeded);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'alerts from the threshold timer when the application stops writing, and recovers on the next write',
    async () => {
      harness = await startApplication(server.connectionString);
      const { hook, clock } = harness;
      expect(await writeAndTick(harness)).toBe(true);

      await server.stop({ mode: 'fast' });
      const outageStartedAt = new Date(clock.wallNow());
      await expect(harness.audit.write()).rejects.toThrow(/ECONNREFUSED/);
      clock.advance(THRESHOLD_MS - 1);
      await deliver(harness);
      expect(hook.events).toEqual([]);

      clock.advance(1);
      await deliver(harness);
      expect(hook.events).toEqual([
        expect.objectContaining({
          type: 'audit.storage.unreachable',
          firstFailureAt: outageStartedAt,
          consecutiveFailures: 1,
          unreachableDurationMs: THRESHOLD_MS,
          occurrence: 1,
          lastError: expect.stringMatching(/ECONNREFUSED/),
        }),
      ]);

      // Repeats are sent by failed writes only: with none, the cooldown passing stays quiet.
      clock.advance(2 * COOLDOWN_MS);
      await deliver(harness);
      expect(hook.events).toHaveLength(1);

      await server.start();
      expect(await writeAndTick(harness)).toBe(true);
      await deliver(harness);
      const [unreachable, recovered] = hook.events;
      expect(recovered).toEqual({
        type: 'audit.storage.recovered',
        outageId: unreachable?.outageId,
        monitor: 'default',
        serviceName: 'ledger-api',
        outageStartedAt,
        recoveredAt: new Date(outageStartedAt.getTime() + THRESHOLD_MS + 2 * COOLDOWN_MS),
        outageDurationMs: THRESHOLD_MS + 2 * COOLDOWN_MS,
        writesFailed: 1,
        recordsSpooled: null,
        recordsLost: null,
        eventsAffected: 1,
        unreachableAlerts: 1,
        degradedAlerts: 0,
      });
      expect(hook.events).toHaveLength(2);
      expect(await rowCount(server.connectionString)).toBe(2);
    },
    TEST_TIMEOUT_MS,
  );
});

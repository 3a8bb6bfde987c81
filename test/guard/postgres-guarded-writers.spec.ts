import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Inject, Post } from '@nestjs/common';
import pg from 'pg';
import { AuditStorageMonitor, RequireAuditStorage } from '../../src/index.js';
import { pgPoolProbe } from '../../src/pg/index.js';
import { RecordingHook } from '../faults/support/recording-hook.js';
import { flush } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';
import { type GuardedApp, startGuardedApp } from './support/guarded-app.js';

/*
 * Issue #19: when the routes marked @RequireAuditStorage() are the only writers
 * of the audit trail, refusing them kept every write away, so nothing could
 * tell the monitor that PostgreSQL was back: 503 for ever, and no recovery sent.
 */

const THRESHOLD_MS = 1_000;
const RETRY_AFTER_S = 5;
const TEST_TIMEOUT_MS = 60_000;

const AUDIT_POOL = Symbol('AUDIT_POOL');

@Controller('transfers')
class TransfersController {
  constructor(
    private readonly monitor: AuditStorageMonitor,
    @Inject(AUDIT_POOL) private readonly pool: pg.Pool,
  ) {}

  @Post()
  @RequireAuditStorage({ retryAfterSeconds: RETRY_AFTER_S })
  async create(): Promise<{ created: true }> {
    await this.monitor.track(() => this.pool.query('INSERT INTO audit_trail (action) VALUES ($1)', ['transfer']));
    return { created: true };
  }
}

describe('@RequireAuditStorage() routes as the only writers of a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool | undefined;
  let running: GuardedApp | undefined;

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    await server.query('CREATE TABLE audit_trail (id bigserial PRIMARY KEY, action text NOT NULL)');
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await running?.app.close();
    await pool?.end();
    running = undefined;
    pool = undefined;
    // Each test starts against a running server with an empty trail.
    await server.start();
    await server.query('TRUNCATE audit_trail');
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await server?.dispose();
  }, TEST_TIMEOUT_MS);

  /** Starts the application; `probes` lists the outcomes of the probe's runs. */
  async function start(withProbe: boolean): Promise<{ running: GuardedApp; probes: string[] }> {
    // Short timeout: a write must fail fast, not queue, while the database is away.
    pool = new pg.Pool({ connectionString: server.connectionString, max: 2, connectionTimeoutMillis: 2_000 });
    // A fast shutdown cuts the idle clients off; the pool drops them and reports it here.
    pool.on('error', () => undefined);
    const check = pgPoolProbe(pool, { table: 'audit_trail', row: { action: 'probe' } });
    const probes: string[] = [];
    running = await startGuardedApp({
      options: {
        thresholdMs: THRESHOLD_MS,
        degraded: false,
        // The timed probe is due a minute into the outage, after this test: any probe here runs on demand.
        ...(withProbe && {
          probe: {
            intervalMs: 60_000,
            check: () =>
              check().then(
                () => void probes.push('passed'),
                (error: unknown) => {
                  probes.push('failed');
                  throw error;
                },
              ),
          },
        }),
      },
      controllers: [TransfersController],
      providers: [{ provide: AUDIT_POOL, useValue: pool }, RecordingHook],
    });
    return { running, probes };
  }

  async function rows(): Promise<number> {
    const {
      rows: [row],
    } = await pool!.query<{ count: string }>('SELECT count(*) FROM audit_trail');
    return Number(row?.count);
  }

  it.each([
    ['without a probe: one trial request, once Retry-After has passed, writes and ends the outage', false],
    ['with a probe: the refused request past Retry-After runs it, and goes through once it passes', true],
  ])(
    '%s',
    async (_, withProbe) => {
      const { running: app, probes } = await start(withProbe);
      const hook = app.app.get(RecordingHook);
      const monitor = app.registry.get('default');
      expect((await app.request('POST', '/transfers')).status).toBe(201);

      await server.stop({ mode: 'fast' });
      expect((await app.request('POST', '/transfers')).status).toBe(500);
      app.clock.advance(THRESHOLD_MS);
      expect(monitor.getStatus().state).toBe('alerting');
      expect(await app.request('POST', '/transfers')).toMatchObject({ status: 503, retryAfter: '5' });

      await server.start();
      expect((await app.request('POST', '/transfers')).status).toBe(503);
      app.clock.advance(RETRY_AFTER_S * 1_000);
      expect(await app.request('POST', '/transfers')).toMatchObject({ status: 201, body: { created: true } });
      expect(probes).toEqual(withProbe ? ['passed'] : []);

      expect(monitor.getStatus().state).toBe('healthy');
      await flush();
      expect(hook.events.map((e) => [e.type, e.outageId])).toEqual([
        ['audit.storage.unreachable', hook.events[0]?.outageId],
        ['audit.storage.recovered', hook.events[0]?.outageId],
      ]);
      expect((await app.request('POST', '/transfers')).status).toBe(201);
      // The probe's row is always rolled back.
      expect(await rows()).toBe(3);
    },
    TEST_TIMEOUT_MS,
  );
});

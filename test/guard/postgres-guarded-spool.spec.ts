import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Inject, Injectable, Post } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AuditStorageMonitor, RequireAuditStorage, TrackAuditWrite } from '../../src/index.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { PostgresServer } from '../support/postgres-server.js';
import { type GuardedApp, startGuardedApp } from './support/guarded-app.js';

/*
 * Issue #20, item 4: with a spool configured, @RequireAuditStorage() stayed
 * open for every route, whether or not its writes handed their record to the
 * spool: 201 for every request while PostgreSQL was stopped, and nothing
 * spooled. The route may stay open only while the outage's failed writes were
 * all kept.
 */

const THRESHOLD_MS = 1_000;
const RETRY_AFTER_S = 5;
const TEST_TIMEOUT_MS = 60_000;

const AUDIT_POOL = Symbol('AUDIT_POOL');
const INSERT = 'INSERT INTO audit_trail (action) VALUES ($1)';

@Injectable()
class AuditWriter {
  constructor(@Inject(AUDIT_POOL) private readonly pool: pg.Pool) {}

  /** Tracked, with no record the spool could keep. */
  @TrackAuditWrite()
  async write(action: string): Promise<void> {
    await this.pool.query(INSERT, [action]);
  }
}

@Controller()
class TransfersController {
  constructor(
    private readonly monitor: AuditStorageMonitor,
    private readonly writer: AuditWriter,
    @Inject(AUDIT_POOL) private readonly pool: pg.Pool,
  ) {}

  /** Its audit record goes through @TrackAuditWrite(): nothing reaches the spool. */
  @Post('untracked-record')
  @RequireAuditStorage({ retryAfterSeconds: RETRY_AFTER_S })
  async decorated(): Promise<{ created: true }> {
    await this.writer.write('decorated');
    return { created: true };
  }

  /** track(op) without a record: nothing reaches the spool. */
  @Post('no-record')
  @RequireAuditStorage({ retryAfterSeconds: RETRY_AFTER_S })
  async noRecord(): Promise<{ created: true }> {
    await this.monitor.track(() => this.pool.query(INSERT, ['no-record']));
    return { created: true };
  }

  /** track(op, { record }): a failed write's record is spooled. */
  @Post('kept')
  @RequireAuditStorage({ retryAfterSeconds: RETRY_AFTER_S })
  async kept(@Body() body: { action?: string }): Promise<{ created: true }> {
    const action = body?.action ?? 'kept';
    await this.monitor.track(() => this.pool.query(INSERT, [action]), { record: { action } });
    return { created: true };
  }
}

describe('@RequireAuditStorage() with a spool, against a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool | undefined;
  let running: GuardedApp | undefined;
  let directory: string | undefined;

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    await client.query('CREATE TABLE audit_trail (id bigserial PRIMARY KEY, action text NOT NULL)');
    await client.end();
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    await running?.app.close();
    await pool?.end();
    running = undefined;
    pool = undefined;
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    directory = undefined;
    await server.start();
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    await client.query('TRUNCATE audit_trail');
    await client.end();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await server?.dispose();
  }, TEST_TIMEOUT_MS);

  async function start(): Promise<{ app: GuardedApp; monitor: AuditStorageMonitor }> {
    directory = await mkdtemp(join(tmpdir(), 'audit-guard-pg-spool-'));
    pool = new pg.Pool({ connectionString: server.connectionString, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    const replayPool = pool;
    running = await startGuardedApp({
      options: {
        thresholdMs: THRESHOLD_MS,
        degraded: false,
        spool: {
          directory,
          replay: (record) => replayPool.query(INSERT, [(record as { action: string }).action]),
        },
      },
      controllers: [TransfersController],
      providers: [{ provide: AUDIT_POOL, useValue: pool }, AuditWriter],
    });
    const monitor = running.registry.get('default');
    await waitFor(() => monitor.spool!.healthy, 'the spool to open');
    return { app: running, monitor };
  }

  async function rows(): Promise<string[]> {
    const { rows: found } = await pool!.query<{ action: string }>('SELECT action FROM audit_trail ORDER BY id');
    return found.map((row) => row.action);
  }

  it.each([
    ['@TrackAuditWrite()', '/untracked-record'],
    ['track(op) without a record', '/no-record'],
  ])(
    'refuses a route whose writes go through %s once the outage alerts: nothing was spooled for it',
    async (_, path) => {
      const { app, monitor } = await start();
      expect((await app.request('POST', path)).status).toBe(201);

      await server.stop({ mode: 'fast' });
      // The write that opens the outage fails, unaudited, and nothing keeps its record.
      expect((await app.request('POST', path)).status).toBe(500);
      app.clock.advance(THRESHOLD_MS);
      expect(monitor.getStatus().state).toBe('alerting');
      const statuses: number[] = [];
      for (let i = 0; i < 16; i += 1) statuses.push((await app.request('POST', path)).status);
      expect(statuses).toEqual(Array.from({ length: 16 }, () => 503));
      expect(monitor.spool!.pending).toBe(0);
      // The spool itself is fine: it is the writes that kept nothing.
      expect(monitor.spool!.healthy).toBe(true);
      // The other routes of the same monitor refuse too: the outage has lost a record.
      expect((await app.request('POST', '/kept')).status).toBe(503);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'stays open while every failed write is spooled, shuts at the first that is not, and reopens with the storage',
    async () => {
      const { app, monitor } = await start();
      expect((await app.request('POST', '/kept')).status).toBe(201);

      await server.stop({ mode: 'fast' });
      expect((await app.request('POST', '/kept')).status).toBe(201);
      app.clock.advance(THRESHOLD_MS);
      expect(monitor.getStatus().state).toBe('alerting');
      for (let i = 0; i < 4; i += 1) expect((await app.request('POST', '/kept')).status).toBe(201);
      expect(monitor.spool!.pending).toBe(5);

      // One write of the same storage without a record: the outage is no longer fully kept.
      expect((await app.request('POST', '/no-record')).status).toBe(500); // it ran, and failed
      expect(await app.request('POST', '/kept')).toMatchObject({ status: 503, retryAfter: String(RETRY_AFTER_S) });
      expect(monitor.spool!.pending).toBe(5);

      // The storage back, a trial once Retry-After has passed ends the outage; the route is open again.
      await server.start();
      app.clock.advance(RETRY_AFTER_S * 1_000);
      expect((await app.request('POST', '/kept')).status).toBe(201);
      expect(monitor.getStatus().state).toBe('healthy');
      // The replay paces itself on the module's (manual) clock.
      const deadline = Date.now() + 10_000;
      while (monitor.spool!.pending > 0 && Date.now() < deadline) {
        app.clock.advance(10);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(monitor.spool!.pending).toBe(0);
      expect((await app.request('POST', '/kept')).status).toBe(201);
      expect((await rows()).filter((action) => action === 'kept')).toHaveLength(8);

      // The next outage starts over: its kept writes leave the route open.
      await server.stop({ mode: 'fast' });
      expect((await app.request('POST', '/kept')).status).toBe(201);
      app.clock.advance(THRESHOLD_MS);
      expect((await app.request('POST', '/kept')).status).toBe(201);
      expect(monitor.spool!.pending).toBe(2);
    },
    TEST_TIMEOUT_MS,
  );
});

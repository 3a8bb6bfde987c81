import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { AUDIT_ALERT_CLOCK, AuditAlertConfigError, AuditAlertModule, AuditStorageMonitor } from '../../src/index.js';
import { pgPoolProbe } from '../../src/pg/index.js';
import { typeOrmWriteProbe } from '../../src/typeorm/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';

/*
 * The probes of nestjs-audit-alert/pg and nestjs-audit-alert/typeorm against a
 * real PostgreSQL server: the write probe inserts and rolls back, so it fails
 * where audit writes fail (a role that may read but not insert) while
 * `SELECT 1` still passes, and leaves no row behind.
 */

const TIMEOUT_MS = 60_000;
const PROBE_ROW = { actor: 'probe', action: 'probe' };

describe('storage probes against a real PostgreSQL', () => {
  let server: PostgresServer;
  const pools: pg.Pool[] = [];

  const poolFor = (user = 'postgres'): pg.Pool => {
    const url = new URL(server.connectionString);
    url.username = user;
    const pool = new pg.Pool({ connectionString: url.href, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  };

  async function rows(): Promise<number> {
    const result = await poolFor().query('SELECT count(*)::int AS n FROM audit.audit_log');
    return (result.rows[0] as { n: number }).n;
  }

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    await client.query(`
      CREATE SCHEMA audit;
      CREATE TABLE audit.audit_log (
        id bigserial PRIMARY KEY,
        actor text NOT NULL,
        action text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE ROLE reader LOGIN;
      GRANT USAGE ON SCHEMA audit TO reader;
      GRANT SELECT ON audit.audit_log TO reader;
    `);
    await client.end();
  }, TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    await server.start();
  }, TIMEOUT_MS);

  afterAll(async () => {
    await server?.dispose();
  }, TIMEOUT_MS);

  describe('pgPoolProbe', () => {
    it('without options, passes while the server answers SELECT 1, even for a role that may not write', async () => {
      await expect(pgPoolProbe(poolFor())()).resolves.toBeUndefined();
      await expect(pgPoolProbe(poolFor('reader'))()).resolves.toBeUndefined();
    });

    it('with a table, inserts and rolls back: passes, and leaves no row', async () => {
      const check = pgPoolProbe(poolFor(), { table: 'audit.audit_log', row: PROBE_ROW });
      await check();
      await check();
      expect(await rows()).toBe(0);
    });

    it('with a table, fails where an audit write fails: a role that may read but not insert', async () => {
      const check = pgPoolProbe(poolFor('reader'), { table: 'audit.audit_log', row: PROBE_ROW });
      await expect(check()).rejects.toMatchObject({ code: '42501', message: 'permission denied for table audit_log' });
      // The connection is usable again afterwards: the transaction was rolled back.
      await expect(check()).rejects.toMatchObject({ code: '42501' });
    });

    it(
      'fails while the server is down and passes again once it is back',
      async () => {
        const check = pgPoolProbe(poolFor(), { table: 'audit.audit_log', row: PROBE_ROW });
        await check();
        await server.stop();
        await expect(check()).rejects.toThrow();
        await server.start();
        await expect(check()).resolves.toBeUndefined();
      },
      TIMEOUT_MS,
    );

    it('inserts DEFAULT VALUES without a row, so a NOT NULL column without a default fails the probe', async () => {
      await expect(pgPoolProbe(poolFor(), { table: 'audit.audit_log' })()).rejects.toMatchObject({ code: '23502' });
    });

    it('rejects invalid options at once, naming them', () => {
      const pool = poolFor();
      expect(() => pgPoolProbe(pool, { table: '' })).toThrow(
        'Invalid audit alert option "pgPoolProbe(options).table": received \'\'; expected a non-empty string.',
      );
      expect(() =>
        pgPoolProbe(pool, { table: 'audit_log', row: [] as unknown as object as Record<string, unknown> }),
      ).toThrow(AuditAlertConfigError);
      expect(() => pgPoolProbe(pool, { table: 'audit_log', rows: {} } as never)).toThrow(
        'Unknown audit alert option "pgPoolProbe(options).rows"',
      );
    });
  });

  describe('typeOrmWriteProbe in a Nest application', () => {
    let app: INestApplication | undefined;

    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    /** TypeORM's DataSource in DI, and the audit monitor's probe made from it by forRootAsync. */
    async function start(username = 'postgres'): Promise<{ monitor: AuditStorageMonitor; dataSource: DataSource }> {
      const url = new URL(server.connectionString);
      @Module({
        imports: [
          TypeOrmModule.forRoot({
            type: 'postgres',
            host: url.hostname,
            port: Number(url.port),
            username,
            database: 'postgres',
            retryAttempts: 0,
          }),
          AuditAlertModule.forRootAsync({
            inject: [DataSource],
            useFactory: (dataSource: DataSource) => ({
              thresholdMs: 1_000,
              probe: {
                check: typeOrmWriteProbe(dataSource, { table: 'audit.audit_log', row: PROBE_ROW }),
                intervalMs: 5_000,
                timeoutMs: 2_000,
              },
            }),
          }),
        ],
      })
      class AppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
        .overrideProvider(AUDIT_ALERT_CLOCK)
        .useValue(new ManualClock())
        .compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      return { monitor: app.get(AuditStorageMonitor), dataSource: app.get(DataSource) };
    }

    it('ends an outage when its insert-and-rollback passes, leaving no row', async () => {
      const { monitor } = await start();
      monitor.recordFailure(new Error('connect ECONNREFUSED'));
      expect(monitor.getStatus().state).toBe('failing');
      await expect(monitor.probeNow()).resolves.toBe(true);
      // Writes outrank probes: a write failed since the previous check (none), so the first one cannot end it.
      expect(monitor.getStatus().state).toBe('failing');
      // No write has failed since that check: this one ends it.
      await expect(monitor.probeNow()).resolves.toBe(true);
      expect(monitor.getStatus().state).toBe('healthy');
      expect(await rows()).toBe(0);
    });

    it('keeps the outage open when the role may not insert, with the reason as lastProbeError', async () => {
      const { monitor } = await start('reader');
      monitor.recordFailure(new Error('insert failed'));
      await monitor.probeNow();
      // A failed probe is counted as a probe, not as a lost write.
      expect(monitor.getStatus()).toMatchObject({
        state: 'failing',
        consecutiveFailures: 1,
        probeFailures: 1,
        lastError: 'Error: insert failed',
        lastProbeError: expect.stringContaining('permission denied for table audit_log'),
      });
    });

    it('releases its connection every time, whatever the outcome', async () => {
      const { dataSource } = await start('reader');
      const check = typeOrmWriteProbe(dataSource, { table: 'audit.audit_log', row: PROBE_ROW });
      for (let i = 0; i < 12; i += 1) await expect(check()).rejects.toThrow('permission denied');
      // The pool (10 connections by default) would be exhausted by now if a failed probe kept its connection.
      await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    });

    it('rejects a missing table name at once', async () => {
      const { dataSource } = await start();
      expect(() => typeOrmWriteProbe(dataSource, {} as never)).toThrow(
        'Invalid audit alert option "typeOrmWriteProbe(options).table": received undefined; expected the name of the table to insert into.',
      );
    });
  });
});

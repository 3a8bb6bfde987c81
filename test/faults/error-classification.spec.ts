import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  isRecordsRejectedEvent,
  postgresErrorClassifier,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type OnAuditAlert,
} from '../../src/index.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';

/*
 * Error classification against a real PostgreSQL server: a record the server
 * refuses (NOT NULL, unique) is a lost record, counted apart and alerted as
 * audit.records.rejected, while a server that is down is an outage, as before.
 */

const TIMEOUT_MS = 60_000;

@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

describe('classify: storage failures apart from rejected records, on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
    await pool.query(
      'CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL, action text NOT NULL, ref text UNIQUE)',
    );
  }, TIMEOUT_MS);

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await server.start();
  }, TIMEOUT_MS);

  afterAll(async () => {
    await pool?.end();
    await server?.dispose();
  }, TIMEOUT_MS);

  async function start(options: AuditAlertModuleOptions) {
    @Injectable()
    class AuditService {
      constructor(readonly monitor: AuditStorageMonitor) {}
      write(actor: string | null, ref: string | null = null): Promise<unknown> {
        return this.monitor.track(() =>
          pool.query('INSERT INTO audit_log (actor, action, ref) VALUES ($1, $2, $3)', [actor, 'login', ref]),
        );
      }
    }
    @Module({ imports: [AuditAlertModule.forRoot(options)], providers: [RecordingHook, AuditService] })
    class AppModule {}
    const clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const service = app.get(AuditService);
    return { clock, service, monitor: service.monitor, hook: app.get(RecordingHook) };
  }

  it('counts a refused record as lost, alerts audit.records.rejected when it persists, and never opens an outage', async () => {
    const { clock, service, monitor, hook } = await start({
      thresholdMs: 1_000,
      cooldownMs: 5_000,
      classify: postgresErrorClassifier,
    });
    await expect(service.write(null)).rejects.toMatchObject({ code: '23502' });
    expect(monitor.getStatus()).toMatchObject({
      state: 'healthy',
      outageId: null,
      rejectedRecords: 1,
      lastRejectedError: expect.stringContaining('violates not-null constraint'),
    });

    clock.advance(1_000);
    await expect(service.write(null)).rejects.toMatchObject({ code: '23502' });
    await service.write('alice');
    clock.advance(500);
    await expect(service.write(null)).rejects.toMatchObject({ code: '23502' });
    await flush();
    expect(hook.events).toEqual([
      expect.objectContaining({
        type: 'audit.records.rejected',
        monitor: 'default',
        rejectedRecords: 2,
        rejectedDurationMs: 1_000,
        occurrence: 1,
        lastError: expect.stringContaining('violates not-null constraint'),
      }),
    ]);
    // The third came within the cooldown: counted, not alerted; the storage was never "unreachable".
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', rejectedRecords: 3 });

    // A repeat once the cooldown has passed, in the same run.
    clock.advance(5_000);
    await expect(service.write(null)).rejects.toMatchObject({ code: '23502' });
    await flush();
    const alerts = hook.events.filter(isRecordsRejectedEvent);
    expect(alerts).toHaveLength(hook.events.length);
    expect(alerts.map((e) => [e.occurrence, e.outageId])).toEqual([
      [1, alerts[0]!.outageId],
      [2, alerts[0]!.outageId],
    ]);
  });

  it(
    'still opens an outage when the server is down',
    async () => {
      const { clock, service, monitor, hook } = await start({ thresholdMs: 1_000, classify: postgresErrorClassifier });
      await server.stop();
      await expect(service.write('alice')).rejects.toThrow();
      expect(monitor.getStatus()).toMatchObject({ state: 'failing', rejectedRecords: 0 });
      clock.advance(1_000);
      await flush();
      expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
    },
    TIMEOUT_MS,
  );

  it('leaves out what classify ignores', async () => {
    const { monitor, service, hook } = await start({
      thresholdMs: 0,
      classify: (error) => ((error as { code?: string }).code === '23505' ? 'ignore' : postgresErrorClassifier(error)),
    });
    await service.write('alice', 'dup');
    await expect(service.write('bob', 'dup')).rejects.toMatchObject({ code: '23505' });
    await flush();
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', rejectedRecords: 0, lastRejectedError: null });
    expect(hook.events).toEqual([]);
  });

  it('without classify, counts a refused record as a storage failure, as before', async () => {
    const { monitor, service, hook } = await start({ thresholdMs: 0 });
    await expect(service.write(null)).rejects.toMatchObject({ code: '23502' });
    await flush();
    expect(monitor.getStatus()).toMatchObject({ state: 'alerting', rejectedRecords: 0 });
    expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
  });
});

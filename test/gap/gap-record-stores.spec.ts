import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { AUDIT_ALERT_LEDGER } from '../../src/audit-alert.constants.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  type AuditGapRecord,
  AuditStorageMonitor,
} from '../../src/index.js';
import type { LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';
import { closeApp } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * Where gap records wait: in Redis under `cluster` (a real redis-server), so
 * that the next process writes what this one could not; nowhere without any
 * store. And the option's checks.
 */

const TEST_TIMEOUT_MS = 30_000;
const KEY = 'audit-alert:ledger-api:gap-records:default';

describe('gap records kept in Redis under cluster', () => {
  const redis = new RedisServer();
  let client: Redis;
  let booted: { app: INestApplication; clock: ManualClock } | undefined;

  beforeAll(async () => {
    await redis.start();
    client = new Redis(redis.url);
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    if (booted) await closeApp(booted as Parameters<typeof closeApp>[0]);
    booted = undefined;
    await client.flushall();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    client.disconnect();
    await redis.dispose();
  }, TEST_TIMEOUT_MS);

  async function boot(options: AuditAlertModuleOptions) {
    const clock = new ManualClock();
    const ledger: LedgerRecord[] = [];
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuditAlertModule.forRoot({ serviceName: 'ledger-api', thresholdMs: 1_000, degraded: false, ...options }),
      ],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .overrideProvider(AUDIT_ALERT_LEDGER)
      .useValue({
        append: (record: LedgerRecord) => ledger.push(record),
        appendSynced: (record: LedgerRecord) => Promise.resolve(ledger.push(record) > 0),
      })
      .setLogger(logger)
      .compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    booted = { app, clock };
    return { monitor: app.get(AuditStorageMonitor), clock, ledger, logger };
  }

  /** An alerted outage of the default monitor that recovers. */
  function outage(monitor: AuditStorageMonitor, clock: ManualClock): void {
    monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    clock.advance(1_000);
    monitor.recordSuccess();
  }

  it(
    'keeps the gap a process could not write, and the next process writes it and removes it',
    async () => {
      const first = await boot({
        cluster: { redis: redis.url },
        gapRecord: () => Promise.reject(new Error('permission denied for table audit_gaps')),
      });
      outage(first.monitor, first.clock);
      await waitFor(() => first.ledger.some((r) => r.kind === 'gap-record'), 'the failed gap record');
      const kept = Object.values(await client.hgetall(KEY)).map(
        (value) => JSON.parse(value) as Record<string, unknown>,
      );
      expect(kept).toEqual([expect.objectContaining({ monitor: 'default', attempts: 1, awaitingReplay: false })]);
      await closeApp(booted as Parameters<typeof closeApp>[0]);
      booted = undefined;
      // Shutdown moves the manual clock on: a retry may have come before the schedule stopped.
      const [left] = Object.values(await client.hgetall(KEY)).map((value) => JSON.parse(value) as { attempts: number });
      expect(left!.attempts).toBeGreaterThanOrEqual(1);

      const written: AuditGapRecord[] = [];
      const second = await boot({
        cluster: { redis: redis.url },
        gapRecord: async (gap: AuditGapRecord) => {
          written.push(gap);
        },
      });
      await waitFor(() => written.length === 1, 'the gap record of the process before');
      expect(written[0]).toMatchObject({ outageId: kept[0]!.outageId, monitor: 'default', writesFailed: 1 });
      expect(written[0]!.recordsSpooled).toBeNull();
      await waitFor(() => second.ledger.some((r) => r.kind === 'gap-record'), 'the ledger record');
      expect(second.ledger.filter((r) => r.kind === 'gap-record')).toEqual([
        expect.objectContaining({
          outageId: kept[0]!.outageId,
          result: 'written',
          attempts: left!.attempts + 1,
          reason: null,
        }),
      ]);
      await waitFor(() => second.logger.of('log').some((m) => m.startsWith('Gap record of monitor "default" written')));
      expect(await client.hlen(KEY)).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'without a store, writes at the recovery and keeps nothing anywhere',
    async () => {
      const written: AuditGapRecord[] = [];
      const { monitor, clock } = await boot({ gapRecord: async (gap: AuditGapRecord) => void written.push(gap) });
      outage(monitor, clock);
      await waitFor(() => written.length === 1, 'the gap record');
      expect(written[0]).toEqual({
        outageId: expect.any(String),
        monitor: 'default',
        serviceName: 'ledger-api',
        from: new Date('2026-01-01T12:00:00.000Z'),
        to: new Date('2026-01-01T12:00:01.000Z'),
        writesFailed: 1,
        recordsSpooled: null,
        recordsReplayed: null,
        recordsLost: null,
      });
      expect(await client.keys('*')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the gapRecord option', () => {
  it.each([
    [{ gapRecord: 'INSERT INTO audit_gaps' }, 'gapRecord', /expected a function \(gap\) => Promise/],
    [
      { gapRecord: async () => undefined, notifyRecovery: false },
      'gapRecord',
      /no gapRecord on a monitor with notifyRecovery: false/,
    ],
    [
      { gapRecord: async () => undefined, monitors: [{ name: 'orders', notifyRecovery: false }] },
      'monitors[0].gapRecord',
      /no gapRecord on a monitor with notifyRecovery: false/,
    ],
    [{ monitors: [{ name: 'orders', gapRecord: null }] }, 'monitors[0].gapRecord', /received null/],
  ])('refuses %p, naming %s', (options, option, message) => {
    let error: unknown;
    try {
      resolveAuditAlertOptions(options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as AuditAlertConfigError).option).toBe(option);
    expect((error as Error).message).toMatch(message);
  });

  it('is inherited by every monitor, and a monitor may set its own', () => {
    const shared = async () => undefined;
    const own = async () => undefined;
    const { monitors } = resolveAuditAlertOptions({
      gapRecord: shared,
      monitors: [{ name: 'orders' }, { name: 'payments', gapRecord: own }],
    });
    expect(monitors.map((m) => m.gapRecord)).toEqual([shared, own]);
    expect(resolveAuditAlertOptions({}).monitors[0]!.gapRecord).toBeNull();
  });
});

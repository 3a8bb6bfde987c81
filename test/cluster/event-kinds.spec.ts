import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertModuleOptions,
  type AuditStorageCapacityReading,
} from '../../src/index.js';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * Five replicas of one service in one process (each its own Nest application
 * and ManualClock, advanced together), one real redis-server, and one webhook
 * receiver on 127.0.0.1 that counts the pages: every kind of event goes out
 * once per cluster per window, and every replica still sends when Redis is gone.
 */

const REPLICAS = 5;
const COOLDOWN_MS = 10_000;
const WINDOW_MS = 5_000;
const DEGRADED = 'audit.storage.degraded';
const RECOVERED = 'audit.storage.recovered';
const STORAGE_ERROR = new Error('connect ECONNREFUSED 10.0.0.5:5432');
const REFUSED_RECORD = new Error('null value in column "actor" violates not-null constraint');

interface Page {
  type: string;
  outageId: string;
  occurrence?: number;
  level?: string;
  failureRatio?: number;
}

interface Replica {
  readonly id: string;
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly monitor: AuditStorageMonitor;
}

// Nest's Logger is process-wide: every replica writes to this one.
const logger = new CaptureLogger();
const redis = new RedisServer();
let webhook: HttpReceiver;
let replicas: Replica[] = [];
let dirs: string[] = [];
let service = 0;

beforeAll(async () => {
  await redis.start();
});

afterEach(async () => {
  await Promise.all(replicas.map((r) => r.app.close()));
  replicas = [];
  await webhook.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
  logger.lines.length = 0;
  if (!redis.running) await redis.start();
});

afterAll(async () => {
  await redis.dispose();
});

/** Replicas of a new service, each with `options` (or what `options` gives for its index) over the defaults here. */
async function startReplicas(
  options: AuditAlertModuleOptions | ((index: number) => AuditAlertModuleOptions) = {},
): Promise<Replica[]> {
  service += 1;
  webhook = await HttpReceiver.start();
  replicas = await Promise.all(
    Array.from({ length: REPLICAS }, async (_, index) => {
      const id = `replica-${index}`;
      const clock = new ManualClock();
      const moduleRef = await Test.createTestingModule({
        imports: [
          AuditAlertModule.forRoot({
            serviceName: `ledger-api-${service}`,
            thresholdMs: 60_000,
            cooldownMs: COOLDOWN_MS,
            degraded: { ratio: 0.5, windowMs: WINDOW_MS, minWrites: 10 },
            channels: [{ type: 'webhook', url: webhook.url('/pages'), retries: 0 }],
            ...(typeof options === 'function' ? options(index) : options),
            cluster: { redis: redis.url, replicaId: id },
          }),
        ],
      })
        .overrideProvider(AUDIT_ALERT_CLOCK)
        .useValue(clock)
        .compile();
      const app = moduleRef.createNestApplication({ logger });
      await app.init();
      return { id, app, clock, monitor: app.get(AuditStorageMonitor) };
    }),
  );
  await until('every replica to reach Redis', () => logger.of('warn').length === 0);
  return replicas;
}

/**
 * A partial outage of 60 %: on every replica, ten writes a second, six of them
 * failing, for a degraded window and one second more (the ratio is judged
 * over a whole window).
 */
function partialOutage(): void {
  for (let second = 0; second <= WINDOW_MS / 1_000; second += 1) {
    for (const { monitor } of replicas) {
      for (let n = 0; n < 10; n += 1) {
        if (n % 5 < 3) monitor.recordFailure(STORAGE_ERROR);
        else monitor.recordSuccess();
      }
    }
    advanceAll(1_000);
  }
}

function succeedAll(times = 10): void {
  for (const { monitor } of replicas) for (let n = 0; n < times; n += 1) monitor.recordSuccess();
}

function advanceAll(ms: number): void {
  for (const { clock } of replicas) clock.advance(ms);
}

function pages(type: string): Page[] {
  return (webhook.bodies() as Page[]).filter((page) => page.type === type);
}

/** Decisions of the cluster on `type` (of outage `outageId` only): pages received, and events left to another replica. */
function decisions(type: string, outageId?: string): number {
  const left = logger
    .of('debug')
    .filter((line) => line.includes(`did not send ${type}`) && (outageId === undefined || line.includes(outageId)));
  return pages(type).filter((page) => outageId === undefined || page.outageId === outageId).length + left.length;
}

/** Waits in short real steps (Redis and the receiver answer in real time). */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('every kind of event once per cluster', () => {
  it('pages a partial outage (60 % of writes failing) on five replicas once per window, and resolves it once', async () => {
    await startReplicas();
    const WINDOWS = 3;
    for (let window = 1; window <= WINDOWS; window += 1) {
      if (window > 1) advanceAll(COOLDOWN_MS);
      partialOutage();
      await until(`a decision from every replica in window ${window}`, () => decisions(DEGRADED) === window * REPLICAS);
      expect(pages(DEGRADED).map((page) => page.occurrence)).toEqual(Array.from({ length: window }, (_, i) => i + 1));
    }
    const degraded = pages(DEGRADED);
    expect(new Set(degraded.map((page) => page.outageId)).size).toBe(1);
    // The claimer's own window.
    expect(degraded[0]!.failureRatio).toBeCloseTo(0.6, 1);

    // Before the degraded period, each replica's brief outages (ended by a success) were decided too.
    const outageId = degraded[0]!.outageId;
    const before = decisions(RECOVERED, outageId);
    // Below half the ratio for a whole window ends the outage on every replica.
    advanceAll(WINDOW_MS);
    succeedAll();
    advanceAll(WINDOW_MS);
    succeedAll();
    await until(
      'a decision from every replica on the recovery',
      () => decisions(RECOVERED, outageId) === before + REPLICAS,
    );
    const recoveries = pages(RECOVERED);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]).toMatchObject({ outageId, degradedAlerts: WINDOWS });
    expect(logger.of('warn')).toEqual([]);
  }, 30_000);

  it('sends capacity warnings, their end, and records rejected once per cluster', async () => {
    let reading: AuditStorageCapacityReading = { used: 10, total: 100 };
    await startReplicas({
      capacity: { check: () => reading, warnAt: 0.8, criticalAt: 0.95, intervalMs: 1_000 },
      classify: (error) => ((error as Error).message.includes('constraint') ? 'record' : 'storage'),
      thresholdMs: 1_000,
    });
    const CAPACITY = 'audit.storage.capacity';
    const step = async (levels: number): Promise<void> => {
      advanceAll(1_000);
      await until('a decision from every replica', () => decisions(CAPACITY) === levels * REPLICAS);
    };
    reading = { used: 85, total: 100 };
    await step(1);
    reading = { used: 97, total: 100 };
    await step(2);
    // Past the cooldown, still critical: a repeat, once.
    advanceAll(COOLDOWN_MS - 1_000);
    await step(3);
    reading = { used: 10, total: 100 };
    await step(4);
    const capacity = pages(CAPACITY);
    expect(capacity.map((page) => [page.level, page.occurrence])).toEqual([
      ['warning', 1],
      ['critical', 2],
      ['critical', 3],
      ['normal', 4],
    ]);
    expect(new Set(capacity.map((page) => page.outageId)).size).toBe(1);

    const REJECTED = 'audit.records.rejected';
    for (const { monitor } of replicas) monitor.recordFailure(REFUSED_RECORD);
    advanceAll(1_000);
    for (const { monitor } of replicas) monitor.recordFailure(REFUSED_RECORD);
    await until('a decision from every replica', () => decisions(REJECTED) === REPLICAS);
    advanceAll(COOLDOWN_MS);
    for (const { monitor } of replicas) monitor.recordFailure(REFUSED_RECORD);
    await until('a decision from every replica', () => decisions(REJECTED) === 2 * REPLICAS);
    const rejected = pages(REJECTED);
    expect(rejected.map((page) => page.occurrence)).toEqual([1, 2]);
    expect(new Set(rejected.map((page) => page.outageId)).size).toBe(1);
    expect(logger.of('warn')).toEqual([]);
  }, 30_000);

  it("sends the spool's events once per cluster: records it could not keep, then its replay", async () => {
    const directories = await Promise.all(
      Array.from({ length: REPLICAS }, () => mkdtemp(join(tmpdir(), 'audit-kinds-'))),
    );
    dirs = directories;
    let up = false;
    const write = (): Promise<void> => (up ? Promise.resolve() : Promise.reject(STORAGE_ERROR));
    // One directory per replica: each has its own spool, as on its own disk.
    await startReplicas((index) => ({
      thresholdMs: 0,
      spool: {
        directory: directories[index]!,
        replay: () => write(),
        replayPerSecond: 10,
        maxBytes: 8_192,
        segmentBytes: 4_096,
      },
    }));
    // Three records of about 3 KB fill a spool of 8 KB: the third cannot be kept.
    const record = { action: 'transfer', memo: 'x'.repeat(3_000) };
    for (let n = 0; n < 3; n += 1) {
      await Promise.all(
        replicas.map(({ monitor }) => monitor.track(write, { record, id: `r-${n}` }).catch(() => undefined)),
      );
    }
    await until('a decision from every replica', () => decisions('audit.spool.unwritable') === REPLICAS);
    expect(pages('audit.spool.unwritable')).toHaveLength(1);

    up = true;
    for (const { monitor } of replicas) monitor.recordSuccess();
    const drained = (): boolean => decisions('audit.spool.replayed') === REPLICAS;
    const deadline = Date.now() + 10_000;
    while (!drained()) {
      if (Date.now() > deadline) throw new Error('Timed out waiting for every replay');
      advanceAll(100);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(pages('audit.spool.replayed')).toHaveLength(1);
    expect(pages('audit.spool.replayed')[0]).toMatchObject({ recordsReplayed: 2 });
    expect(logger.of('warn')).toEqual([]);
  }, 30_000);

  it('has every replica send when Redis is stopped mid-outage: duplicates, never silence', async () => {
    await startReplicas();
    partialOutage();
    await until('a decision from every replica', () => decisions(DEGRADED) === REPLICAS);
    expect(pages(DEGRADED)).toHaveLength(1);

    await redis.stop();
    advanceAll(COOLDOWN_MS);
    partialOutage();
    await until('a page from every replica', () => pages(DEGRADED).length === 1 + REPLICAS);
    const alone = logger.of('warn').filter((line) => line.includes(`sent ${DEGRADED}`));
    expect(alone).toHaveLength(REPLICAS);
    // Under the id the cluster agreed on before Redis went away.
    expect(new Set(pages(DEGRADED).map((page) => page.outageId)).size).toBe(1);
  }, 30_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Cluster } from 'ioredis';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type AuditOutageEvent,
  type OnAuditAlert,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisCluster } from '../support/redis-server.js';

/*
 * Replicas coordinating through a sharded Redis Cluster of three masters that
 * the suite starts (redis-server --cluster-enabled yes, redis-cli --cluster
 * create), reached through ioredis' Cluster client. Every key a script touches
 * is in KEYS and shares the monitor's hash tag, so no script meets CROSSSLOT;
 * a failover of the shard that holds them costs duplicates at worst, never an alert.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;
const UNREACHABLE = 'audit.storage.unreachable';
const RECOVERED = 'audit.storage.recovered';
const SERVICE = 'billing-api';
const OPEN_KEY = `audit-alert:{${SERVICE}:default}:outage`;
const RECORDS_KEY = `audit-alert:{${SERVICE}:default}:outages`;

const received: AuditAlertEvent[] = [];

@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push(event);
  }
}

interface Replica {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly monitor: AuditStorageMonitor;
  readonly client: Cluster;
}

const logger = new CaptureLogger();
const redis = new RedisCluster(3);
let replicas: Replica[] = [];

beforeAll(async () => {
  await redis.start();
}, 30_000);

afterEach(async () => {
  for (const { app, client } of replicas.splice(0)) {
    await app.close();
    client.disconnect();
  }
});

afterAll(async () => {
  await redis.dispose();
});

async function startReplicas(count: number): Promise<Replica[]> {
  replicas = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const clock = new ManualClock();
      const client = new Cluster(redis.startupNodes, { enableOfflineQueue: false });
      await new Promise((resolve) => client.once('ready', resolve));
      const moduleRef = await Test.createTestingModule({
        imports: [
          AuditAlertModule.forRoot({
            serviceName: SERVICE,
            thresholdMs: THRESHOLD_MS,
            cooldownMs: COOLDOWN_MS,
            // Generous: this case is about slots and failover, not about a slow Redis on a busy machine.
            cluster: { redis: client, replicaId: `replica-${index}`, timeoutMs: 2_000 },
          }),
        ],
        providers: [RecordingHook],
      })
        .overrideProvider(AUDIT_ALERT_CLOCK)
        .useValue(clock)
        .compile();
      const app = moduleRef.createNestApplication({ logger });
      await app.init();
      return { app, clock, client, monitor: app.get(AuditStorageMonitor) };
    }),
  );
  return replicas;
}

function advanceAll(ms: number): void {
  for (const replica of replicas) replica.clock.advance(ms);
}

function failAll(): void {
  for (const replica of replicas) replica.monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
}

const sent = (type: string): AuditOutageEvent[] =>
  received.filter((event): event is AuditOutageEvent => event.type === type && 'outageId' in event);
const decisions = (type: string): number =>
  sent(type).length + logger.of('debug').filter((line) => line.includes(`did not send ${type}`)).length;

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${logger.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setImmediate(resolve));
}

/** Waits until `client` reads the monitor's key from whichever node serves its slot now. */
async function reachesSlot(client: Cluster): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.get(OPEN_KEY);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('replicas on a three-master Redis Cluster', () => {
  it('keep every key of a monitor in one slot, page once per window, and survive a failover of that shard', async () => {
    const [probe] = await startReplicas(1);
    const slot = Number(await probe!.client.cluster('KEYSLOT', OPEN_KEY));
    expect(Number(await probe!.client.cluster('KEYSLOT', RECORDS_KEY))).toBe(slot);
    await redis.addReplica(slot);
    for (const { app, client } of replicas.splice(0)) {
      await app.close();
      client.disconnect();
    }

    await startReplicas(3);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('3 decisions on the first alert', () => decisions(UNREACHABLE) === 3);
    expect(sent(UNREACHABLE)).toHaveLength(1);
    const outageId = sent(UNREACHABLE)[0]!.outageId;
    expect(logger.of('warn')).toEqual([]);
    const master = await redis.masterOf(slot);
    expect(await master.cli('get', OPEN_KEY)).toContain(outageId);

    // The master of the shard dies mid-outage; its replica takes over.
    await redis.failOver(slot);
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('an alert for the second window', () => sent(UNREACHABLE).length >= 2);
    await until('every replica to decide', () => decisions(UNREACHABLE) >= 6);

    // Once the clients have found the new master, coordination is back: one page for the next window.
    for (const { client } of replicas) await reachesSlot(client);
    const before = sent(UNREACHABLE).length;
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('3 decisions on the third window', () => decisions(UNREACHABLE) >= 9);
    expect(sent(UNREACHABLE).length - before).toBe(1);

    for (const replica of replicas) replica.monitor.recordSuccess();
    await until('a recovery', () => sent(RECOVERED).length >= 1);
    const alerts = sent(UNREACHABLE) as StorageUnreachableEvent[];
    expect(new Set([...alerts, ...sent(RECOVERED)].map((event) => event.outageId))).toEqual(new Set([outageId]));
    expect(logger.text()).not.toMatch(/CROSSSLOT/);
  }, 60_000);
});

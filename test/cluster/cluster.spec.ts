import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertClusterOptions,
  type AuditOutageEvent,
  type AuditAlertModuleOptions,
  type OnAuditAlert,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { AUDIT_ALERT_REDIS } from '../../src/audit-alert.constants.js';
import type { RedisAlertCoordinator } from '../../src/cluster/redis-alert.coordinator.js';
import { RENEW_SCRIPT } from '../../src/cluster/redis-alert.scripts.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * Several replicas of one service in one process: each its own Nest
 * application with its own ManualClock (advanced together, as real clocks
 * would run), all sharing one real redis-server.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;
const UNREACHABLE = 'audit.storage.unreachable';
const RECOVERED = 'audit.storage.recovered';
const STORAGE_ERROR = new Error('connect ECONNREFUSED 10.0.0.5:5432');
/** `cluster.leaseMs` of the cases about the lease, far shorter than the stalled delivery (`hookTimeoutMs`). */
const LEASE_MS = 2_100;
/** `cluster.leaseMs` of the cases where Redis goes away after a claim: longer than the clocks move. */
const LONG_LEASE_MS = 60_000;

/** Every event any replica sent, in the order they were delivered. */
const received: AuditOutageEvent[] = [];

@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  onAuditAlert(event: AuditOutageEvent): void {
    received.push(event);
  }
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
let replicas: Replica[] = [];
let service = 0;

beforeAll(async () => {
  await redis.start();
});

afterEach(async () => {
  redis.resume();
  await Promise.all(replicas.map((r) => r.app.close()));
  replicas = [];
  received.length = 0;
  logger.lines.length = 0;
  StallingHook.stalled = null;
  if (!redis.running) await redis.start();
});

afterAll(async () => {
  await redis.dispose();
});

/** Never settles the first unreachable alert it gets: its replica hangs, or dies, before confirming delivery. */
@AuditAlertHook({ events: [UNREACHABLE] })
class StallingHook implements OnAuditAlert {
  /** The instance, one per replica, that holds its alert. */
  static stalled: StallingHook | null = null;
  onAuditAlert(): Promise<void> | void {
    if (StallingHook.stalled) return;
    StallingHook.stalled = this;
    return new Promise(() => undefined);
  }
}

async function startReplicas(
  count: number,
  {
    cluster,
    sameService = false,
    stalling = false,
    ...options
  }: Omit<AuditAlertModuleOptions, 'cluster'> & {
    cluster?: Partial<AuditAlertClusterOptions>;
    /** Replicas of the service of the previous call, as after a restart. */
    sameService?: boolean;
    /** With a hook that holds the first alert's delivery forever. */
    stalling?: boolean;
  } = {},
): Promise<Replica[]> {
  if (!sameService) service += 1;
  const since = logger.lines.length;
  const started = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const id = `replica-${index}`;
      const clock = new ManualClock();
      const moduleRef = await Test.createTestingModule({
        imports: [
          AuditAlertModule.forRoot({
            serviceName: `billing-api-${service}`,
            thresholdMs: THRESHOLD_MS,
            cooldownMs: COOLDOWN_MS,
            ...options,
            cluster: { redis: redis.url, replicaId: id, ...cluster },
          }),
        ],
        providers: stalling ? [RecordingHook, StallingHook] : [RecordingHook],
      })
        .overrideProvider(AUDIT_ALERT_CLOCK)
        .useValue(clock)
        .compile();
      const app = moduleRef.createNestApplication({ logger });
      await app.init();
      return { id, app, clock, monitor: app.get(AuditStorageMonitor) };
    }),
  );
  replicas = [...replicas, ...started];
  // app.init() waits at most cluster.timeoutMs (50 ms in some cases) for the connection, and a busy machine can
  // take longer: a replica still connecting when its outage opens rightly decides alone, under its own id. Every
  // case here starts from replicas that coordinate, so each is waited for until it reaches Redis, and what a slow
  // connection logged meanwhile (that it could not coordinate, then that it can) is not counted against the case.
  if (redis.running) {
    await until('every replica to reach Redis', () => started.every((r) => reachesRedis(r.id, since)));
    logger.lines.splice(since);
  }
  return started;
}

/** Whether replica `id`, started after line `since` of the log, reaches Redis: it never lost it, or found it again. */
function reachesRedis(id: string, since: number): boolean {
  const lines = logger.lines.slice(since).filter((l) => l.context === 'AuditAlert');
  const count = (level: string, text: string): number =>
    lines.filter((l) => l.level === level && l.message.startsWith(`Replica "${id}" ${text}`)).length;
  return count('warn', 'cannot coordinate alerts through Redis') <= count('log', 'reaches Redis again');
}

function advanceAll(ms: number, among: readonly Replica[] = replicas): void {
  for (const replica of among) replica.clock.advance(ms);
}

/** Stops replicas without a word to Redis, as a crash or a restart mid-outage would. */
async function stopReplicas(stopped: readonly Replica[]): Promise<void> {
  await Promise.all(stopped.map((r) => r.app.close()));
  replicas = replicas.filter((r) => !stopped.includes(r));
}

function failAll(among: readonly Replica[] = replicas): void {
  for (const replica of among) replica.monitor.recordFailure(STORAGE_ERROR);
}

function recoverAll(among: readonly Replica[] = replicas): void {
  for (const replica of among) replica.monitor.recordSuccess();
}

function sent(type: string): AuditOutageEvent[] {
  return received.filter((e) => e.type === type);
}

function logged(level: string, text: string): string[] {
  return logger.of(level).filter((line) => line.includes(text));
}

/** Decisions of the cluster on `type` so far: sent here, or left to another replica. */
function decisions(type: string): number {
  return sent(type).length + logged('debug', `did not send ${type}`).length;
}

/** Waits (in short real steps: Redis answers in real time) until `condition` holds. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Deliveries are deferred to a later turn.
  await new Promise((resolve) => setImmediate(resolve));
}

/** The cluster's record of an outage, as the scripts keep it. */
async function outageRecord(outageId: string): Promise<{ until?: number; confirmed?: number } | null> {
  const client = new Redis(redis.url, { lazyConnect: true });
  try {
    await client.connect();
    const raw = await client.hget(`audit-alert:{billing-api-${service}:default}:outages`, outageId);
    return raw === null ? null : (JSON.parse(raw) as { until?: number; confirmed?: number });
  } finally {
    client.disconnect();
  }
}

/** Watches the scripts `replica` runs from now on. */
function renewalsOf(replica: Replica) {
  const link = replica.app.get<RedisAlertCoordinator>(AUDIT_ALERT_REDIS);
  return jest.spyOn(link, 'eval');
}

function isRenewal([script]: readonly unknown[]): boolean {
  return script === RENEW_SCRIPT;
}

async function openKey(): Promise<string | null> {
  const client = new Redis(redis.url, { lazyConnect: true });
  try {
    await client.connect();
    return await client.get(`audit-alert:{billing-api-${service}:default}:outage`);
  } finally {
    client.disconnect();
  }
}

describe('alerts coordinated across replicas through Redis', () => {
  it('sends one alert per cooldown window, under one outage id, and one recovery', async () => {
    await startReplicas(5);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('5 decisions on the first alert', () => decisions(UNREACHABLE) === 5);
    const first = sent(UNREACHABLE) as StorageUnreachableEvent[];
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ occurrence: 1, serviceName: `billing-api-${service}`, monitor: 'default' });
    const outageId = first[0]!.outageId;
    // The id of the replica that opened the outage first, held in Redis for the others.
    expect(replicas.map((r) => r.monitor.getStatus().outageId)).toContain(outageId);
    expect(await openKey()).toBe(outageId);

    // Within the cooldown nothing is due anywhere, so Redis is not even asked.
    advanceAll(COOLDOWN_MS / 2);
    failAll();
    advanceAll(COOLDOWN_MS / 2);
    failAll();
    await until('5 decisions on the repeat', () => decisions(UNREACHABLE) === 10);
    const alerts = sent(UNREACHABLE) as StorageUnreachableEvent[];
    expect(alerts.map((e) => [e.outageId, e.occurrence])).toEqual([
      [outageId, 1],
      [outageId, 2],
    ]);

    advanceAll(COOLDOWN_MS);
    failAll();
    await until('5 decisions on the third window', () => decisions(UNREACHABLE) === 15);
    expect(sent(UNREACHABLE)).toHaveLength(3);

    recoverAll();
    await until('5 decisions on the recovery', () => decisions(RECOVERED) === 5);
    const recoveries = sent(RECOVERED);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]!.outageId).toBe(outageId);
    expect(await openKey()).toBeNull();
    expect(logger.of('warn')).toEqual([]);

    // The next outage is a new one, alerted on its own threshold.
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('5 decisions on the next outage', () => decisions(UNREACHABLE) === 20);
    const next = (sent(UNREACHABLE) as StorageUnreachableEvent[]).at(-1)!;
    expect(sent(UNREACHABLE)).toHaveLength(4);
    expect(next.outageId).not.toBe(outageId);
    expect(next.occurrence).toBe(1);
  });

  it('lets every replica alert on its own while Redis is down, and coordinates again once it is back', async () => {
    // The others check the first alert's claim when its lease ends: with Redis away then, each would send it again
    // alone (duplicates, as documented). A lease past the clocks' moves keeps that check out of this case.
    await startReplicas(5, { cluster: { leaseMs: LONG_LEASE_MS } });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('the first alert', () => decisions(UNREACHABLE) === 5);
    expect(sent(UNREACHABLE)).toHaveLength(1);
    const outageId = sent(UNREACHABLE)[0]!.outageId;

    await redis.stop();
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('an alert from every replica', () => sent(UNREACHABLE).length === 6);
    const alone = sent(UNREACHABLE).slice(1) as StorageUnreachableEvent[];
    // Every replica had adopted the cluster's id: the duplicates still share it downstream.
    expect(alone.map((e) => e.outageId)).toEqual(Array(5).fill(outageId));
    expect(alone.map((e) => e.occurrence)).toEqual(Array(5).fill(2));
    const warnings = logged('warn', 'without cluster coordination');
    expect(warnings).toHaveLength(5);
    for (const replica of replicas) {
      expect(warnings).toContainEqual(expect.stringContaining(`Replica "${replica.id}" sent ${UNREACHABLE}`));
      expect(logged('warn', `Replica "${replica.id}" cannot coordinate alerts through Redis`)).toHaveLength(1);
    }

    await redis.start();
    await until('every replica to reconnect', () => logged('log', 'reaches Redis again').length === 5);
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('5 decisions after the restart', () => decisions(UNREACHABLE) === 15);
    const resumed = sent(UNREACHABLE).slice(6) as StorageUnreachableEvent[];
    expect(resumed).toHaveLength(1);
    // Redis came back empty: the occurrence goes on from what the replicas counted.
    expect(resumed[0]).toMatchObject({ outageId, occurrence: 3 });

    recoverAll();
    await until('5 decisions on the recovery', () => decisions(RECOVERED) === 5);
    expect(sent(RECOVERED).map((e) => e.outageId)).toEqual([outageId]);
  });

  it('decides alone when Redis hangs past timeoutMs', async () => {
    // As above, the lease of the first alert ends after the clocks' moves.
    await startReplicas(3, { cluster: { timeoutMs: 50, leaseMs: LONG_LEASE_MS } });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('the first alert', () => decisions(UNREACHABLE) === 3);
    const outageId = sent(UNREACHABLE)[0]!.outageId;

    redis.pause();
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('an alert from every replica', () => sent(UNREACHABLE).length === 4);
    expect(sent(UNREACHABLE).map((e) => e.outageId)).toEqual(Array(4).fill(outageId));
    expect(logged('warn', 'without cluster coordination (no response within 50 ms)')).toHaveLength(3);

    redis.resume();
    // The late claims have run by now: the next window is coordinated again.
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('3 decisions after the resume', () => decisions(UNREACHABLE) === 9);
    expect(sent(UNREACHABLE)).toHaveLength(5);
    expect(logged('log', 'reaches Redis again')).toHaveLength(3);
  });

  it.each([
    ['stopped', () => redis.stop()],
    ['paused (SIGSTOP)', async () => redis.pause()],
  ])(
    'announces the recovery of an alerted outage when Redis is %s mid-outage: duplicates, never silence',
    async (_, away) => {
      await startReplicas(3, { cluster: { timeoutMs: 50 } });
      failAll();
      advanceAll(THRESHOLD_MS);
      await until('the first alert', () => decisions(UNREACHABLE) === 3);
      const outageId = sent(UNREACHABLE)[0]!.outageId;

      await away();
      recoverAll();
      await until('a recovery from every replica', () => sent(RECOVERED).length === 3);
      // Each replica ends the outage it knows under the id it adopted: one incident, resolved three times over.
      expect(sent(RECOVERED).map((e) => e.outageId)).toEqual(Array(3).fill(outageId));
      expect(logged('warn', `sent ${RECOVERED}`)).toHaveLength(3);
    },
  );

  it('merges the outage opened while Redis was away, when it returns before any alert', async () => {
    await startReplicas(4);
    await redis.stop();
    failAll();
    await until('every replica to find Redis gone', () => logged('warn', 'cannot coordinate alerts').length === 4);
    await redis.start();
    await until('every replica to reconnect', () => logged('log', 'reaches Redis again').length === 4);
    advanceAll(THRESHOLD_MS);
    await until('4 decisions on the first alert', () => decisions(UNREACHABLE) === 4);
    expect(sent(UNREACHABLE)).toHaveLength(1);
    expect(replicas.map((r) => r.monitor.getStatus().outageId)).toContain(sent(UNREACHABLE)[0]!.outageId);
  });

  it('alerts alone from the start when Redis cannot be reached, and never logs its password', async () => {
    const closedPort = redis.port;
    await redis.stop();
    await startReplicas(2, {
      cluster: { redis: `redis://audit:s3cret-pass@127.0.0.1:${closedPort}`, timeoutMs: 50 },
    });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('an alert from every replica', () => sent(UNREACHABLE).length === 2);
    expect(logged('warn', 'without cluster coordination')).toHaveLength(2);
    recoverAll();
    await until('a recovery from every replica', () => sent(RECOVERED).length === 2);
    const text = logger.lines.map((l) => l.message).join('\n');
    expect(text).toContain('cannot coordinate alerts through Redis');
    expect(text).not.toContain('s3cret-pass');
  });

  it('uses an ioredis client given by the application, and leaves it open at shutdown', async () => {
    const client = new Redis(redis.url, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    try {
      const [first, second] = await startReplicas(2, { cluster: { redis: client } });
      failAll();
      advanceAll(THRESHOLD_MS);
      await until('2 decisions', () => decisions(UNREACHABLE) === 2);
      expect(sent(UNREACHABLE)).toHaveLength(1);
      await first!.app.close();
      await second!.app.close();
      replicas = [];
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('leaves Redis alone for a monitor whose alerts are disabled', async () => {
    await startReplicas(2, { enabled: false });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('a few turns', () => true);
    expect(sent(UNREACHABLE)).toEqual([]);
    expect(await openKey()).toBeNull();
  });

  it('resolves, on the first success of a replica started later, an alerted outage whose replicas all died', async () => {
    const before = await startReplicas(3);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('the first alert', () => decisions(UNREACHABLE) === 3);
    const [alert] = sent(UNREACHABLE) as StorageUnreachableEvent[];
    await stopReplicas(before);

    // The storage came back while nothing ran; a new generation starts healthy.
    const after = await startReplicas(3, { sameService: true });
    advanceAll(5 * THRESHOLD_MS);
    recoverAll();
    await until('the recovery of the old outage', () => sent(RECOVERED).length === 1);
    await until('a few turns', () => true);
    const [recovery] = sent(RECOVERED);
    expect(recovery).toMatchObject({
      outageId: alert!.outageId,
      outageStartedAt: alert!.firstFailureAt,
      // From the cluster's record: the replica announcing it never had the outage, so knows nothing of its records.
      writesFailed: 1,
      recordsSpooled: null,
      recordsLost: null,
      eventsAffected: 1,
    });
    expect(await openKey()).toBeNull();

    // Further successes cost nothing more, and a new outage a second later pages under its own id.
    recoverAll();
    advanceAll(1_000);
    failAll(after);
    advanceAll(THRESHOLD_MS);
    await until('the page for the next outage', () => decisions(UNREACHABLE) === 6);
    const next = sent(UNREACHABLE).at(-1) as StorageUnreachableEvent;
    expect(sent(UNREACHABLE)).toHaveLength(2);
    expect(next.outageId).not.toBe(alert!.outageId);
    expect(next.occurrence).toBe(1);
    expect(sent(RECOVERED)).toHaveLength(1);
  });

  it('continues an outage across a restart while the storage is still down, then resolves it', async () => {
    const before = await startReplicas(2);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('the first alert', () => decisions(UNREACHABLE) === 2);
    const outageId = sent(UNREACHABLE)[0]!.outageId;
    await stopReplicas(before);

    await startReplicas(2, { sameService: true });
    advanceAll(THRESHOLD_MS);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('both replicas to decide', () => decisions(UNREACHABLE) === 4);
    // Within the cooldown of the alert sent before the restart: no second page.
    expect(sent(UNREACHABLE)).toHaveLength(1);
    expect(replicas.map((r) => r.monitor.getStatus().outageId)).not.toContain(outageId);

    advanceAll(COOLDOWN_MS);
    failAll();
    await until('the repeat', () => decisions(UNREACHABLE) === 6);
    expect((sent(UNREACHABLE) as StorageUnreachableEvent[]).map((e) => [e.outageId, e.occurrence])).toEqual([
      [outageId, 1],
      [outageId, 2],
    ]);
    recoverAll();
    await until('the recovery', () => decisions(RECOVERED) === 2);
    expect(sent(RECOVERED).map((e) => e.outageId)).toEqual([outageId]);
  });

  it('ends the outage of a dead replica when a replica below its own threshold recovers', async () => {
    const [alerter, bystander] = await startReplicas(2);
    failAll([alerter!]);
    advanceAll(THRESHOLD_MS);
    await until('the first alert', () => sent(UNREACHABLE).length === 1);
    const outageId = sent(UNREACHABLE)[0]!.outageId;
    await stopReplicas([alerter!]);

    failAll([bystander!]);
    await until('a few turns', () => true);
    recoverAll([bystander!]);
    await until('the recovery', () => sent(RECOVERED).length === 1);
    expect(sent(RECOVERED)[0]).toMatchObject({ outageId, eventsAffected: 1 });

    advanceAll(1_000);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('the next page', () => sent(UNREACHABLE).length === 2);
    expect(sent(UNREACHABLE)[1]!.outageId).not.toBe(outageId);
  });

  it("announces, from a replica that did not alert, the recovery with the same figures: writes failed, its spool's counts, whole milliseconds", async () => {
    const root = await mkdtemp(join(tmpdir(), 'audit-alert-cluster-spool-'));
    try {
      // Each replica its own spool, as each runs on its own host.
      const spool = async (name: string) => {
        await mkdir(join(root, name));
        return { directory: join(root, name), replay: () => undefined };
      };
      const [alerter] = await startReplicas(1, { spool: await spool('a') });
      const [bystander] = await startReplicas(1, {
        sameService: true,
        spool: await spool('b'),
        cluster: { replicaId: 'replica-1' },
      });
      // The alerter reports three failed writes to the cluster with its claim.
      for (let n = 0; n < 3; n += 1) alerter!.monitor.recordFailure(STORAGE_ERROR);
      advanceAll(THRESHOLD_MS + 0.5);
      await until('the first alert', () => sent(UNREACHABLE).length === 1);
      const alert = sent(UNREACHABLE)[0] as StorageUnreachableEvent;
      expect(alert.consecutiveFailures).toBe(3);
      await stopReplicas([alerter!]);

      // The bystander's two failed writes carry records: its spool keeps both.
      const down = (): Promise<never> => Promise.reject(STORAGE_ERROR);
      for (const n of [1, 2]) {
        await expect(bystander!.monitor.track(down, { record: { n } })).resolves.toBeUndefined();
      }
      // Fractions on the clocks, as performance.now() and an injected wall clock may have.
      advanceAll(250.3);
      recoverAll([bystander!]);
      await until('the recovery', () => sent(RECOVERED).length === 1);
      const recovery = sent(RECOVERED)[0]!;
      expect(recovery).toMatchObject({
        outageId: alert.outageId,
        outageStartedAt: alert.firstFailureAt,
        // The most one replica is known to have recorded: the alerter's three, from the cluster's record.
        writesFailed: 3,
        // This replica's spool, for its part of the outage.
        recordsSpooled: 2,
        recordsLost: 0,
        eventsAffected: 3,
        eventsSpooled: 2,
        eventsLost: 0,
      });
      const { outageDurationMs } = recovery as { outageDurationMs: number };
      expect(Number.isInteger(outageDurationMs)).toBe(true);
      expect(outageDurationMs).toBeGreaterThanOrEqual(THRESHOLD_MS + 250);
    } finally {
      // The replay may still be deleting a segment it finished: rm tries again on ENOTEMPTY.
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
    }
  });

  it('holds a recovery back until the alert another replica claimed is confirmed, so a resolve never overtakes its trigger', async () => {
    const hookTimeoutMs = 60_000;
    const all = await startReplicas(2, {
      stalling: true,
      hookTimeoutMs,
      cluster: { timeoutMs: 500, leaseMs: LEASE_MS },
    });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('2 decisions', () => decisions(UNREACHABLE) === 2);
    const claimer = all.find((r) => r.app.get(StallingHook) === StallingHook.stalled)!;
    const other = all.find((r) => r !== claimer)!;
    try {
      // The other replica sees the storage back while the claimer's delivery is still under way.
      recoverAll([other]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      other.clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(sent(RECOVERED)).toHaveLength(0);

      // The claimer hangs (its clock stands still, so it renews nothing): the lease runs out, the recovery goes out.
      other.clock.advance(LEASE_MS);
      // Redis is asked again every 100 ms of the replica's clock, and answers in real time.
      await until('the recovery', () => {
        other.clock.advance(100);
        return sent(RECOVERED).length === 1;
      });
      expect(sent(RECOVERED)[0]!.outageId).toBe(sent(UNREACHABLE)[0]!.outageId);
    } finally {
      // The hung claimer's hook is abandoned once its clock moves again, so it can shut down.
      claimer.clock.advance(hookTimeoutMs);
    }
  });

  it('sends the alert from another replica when the claimer neither confirms nor renews its claim within the lease', async () => {
    const hookTimeoutMs = 60_000;
    const all = await startReplicas(3, {
      stalling: true,
      hookTimeoutMs,
      cluster: { timeoutMs: 500, leaseMs: LEASE_MS },
    });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('3 decisions', () => decisions(UNREACHABLE) === 3);
    const [first] = sent(UNREACHABLE) as StorageUnreachableEvent[];
    // The claimer hangs: its clock stands still, so its hook is never abandoned and nothing is confirmed.
    const claimer = all.find((r) => r.app.get(StallingHook) === StallingHook.stalled)!;
    expect(claimer).toBeDefined();
    const others = all.filter((r) => r !== claimer);
    const leaseMs = LEASE_MS;
    advanceAll(leaseMs - THRESHOLD_MS, others);
    await until('a few turns', () => true);
    expect(sent(UNREACHABLE)).toHaveLength(1);

    advanceAll(THRESHOLD_MS + 1, others);
    await until("the alert sent in the claimer's place", () => sent(UNREACHABLE).length === 2);
    await until('a few turns', () => true);
    const [, again] = sent(UNREACHABLE) as StorageUnreachableEvent[];
    expect(again).toMatchObject({ outageId: first!.outageId, occurrence: 1 });
    expect(logged('warn', 'in place of the replica that claimed it')).toHaveLength(1);

    // Confirmed this time: the third replica sends nothing more.
    advanceAll(leaseMs + 1, others);
    await until('a few turns', () => true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent(UNREACHABLE)).toHaveLength(2);

    // The claimer wakes up: its next renewal finds the claim taken over, says so, and it renews no more.
    claimer.clock.advance(leaseMs / 3);
    await until(
      'the claimer to find its claim taken over',
      () => logged('warn', 'no longer holds its claim').length === 1,
    );
    const renewals = renewalsOf(claimer);
    claimer.clock.advance(3 * leaseMs);
    await until('a few turns', () => true);
    expect(renewals.mock.calls.filter(isRenewal)).toEqual([]);
    expect(logged('warn', 'no longer holds its claim')).toHaveLength(1);

    // The hung claimer's hook is abandoned once its clock moves again, so it can shut down.
    claimer.clock.advance(hookTimeoutMs);
    await stopReplicas([claimer]);
  });

  it('keeps its claim while its delivery outlasts the lease: no other replica sends in its place', async () => {
    const hookTimeoutMs = 60_000;
    const all = await startReplicas(3, {
      stalling: true,
      hookTimeoutMs,
      cluster: { timeoutMs: 500, leaseMs: LEASE_MS },
    });
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('3 decisions', () => decisions(UNREACHABLE) === 3);
    const [first] = sent(UNREACHABLE) as StorageUnreachableEvent[];
    const claimer = all.find((r) => r.app.get(StallingHook) === StallingHook.stalled)!;
    const others = all.filter((r) => r !== claimer);
    try {
      // Three leases of delivery, a renewal (every third of the lease) at a time: the claimer's clock first, and its
      // renewal seen in Redis, then the others', whose waits for the lease find it renewed each time they look.
      for (let tick = 1; tick <= 9; tick += 1) {
        claimer.clock.advance(LEASE_MS / 3);
        const renewedUntil = claimer.clock.wallNow() + LEASE_MS;
        await until(`renewal ${tick}`, async () => (await outageRecord(first!.outageId))?.until === renewedUntil);
        advanceAll(LEASE_MS / 3, others);
        await until('a few turns', () => true);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(sent(UNREACHABLE)).toHaveLength(1);
      expect(logged('warn', 'in place of the replica that claimed it')).toEqual([]);
    } finally {
      // The delivery settles (the hook is abandoned) and is confirmed: the renewals stop.
      claimer.clock.advance(hookTimeoutMs);
    }
    await until('the confirmation', async () => (await outageRecord(first!.outageId))?.confirmed === 1);
    const renewals = renewalsOf(claimer);
    advanceAll(3 * LEASE_MS);
    await until('a few turns', () => true);
    expect(renewals.mock.calls.filter(isRenewal)).toEqual([]);
    expect(sent(UNREACHABLE)).toHaveLength(1);
  });
});

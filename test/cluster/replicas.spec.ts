import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * Replicas as they run in production: separate Node processes, each with the
 * built package (dist/, built by `npm test` before jest runs), meeting in one
 * real redis-server. The parent drives every failure and recovery over IPC,
 * so the outcome does not hang on timers racing each other: with thresholdMs
 * 0 the claim happens on the failure itself.
 */

const fixture = fileURLToPath(new URL('./fixtures/replica.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

const REPLICAS = 5;
const COOLDOWN_MS = 1_000;
const UNREACHABLE = 'audit.storage.unreachable';
const RECOVERED = 'audit.storage.recovered';

interface ReceivedEvent {
  type: string;
  outageId: string;
  occurrence?: number;
  serviceName: string;
}

type ReplicaMessage =
  | { kind: 'ready' }
  | { kind: 'event'; event: ReceivedEvent }
  | { kind: 'log'; level: string; message: string }
  | { kind: 'modules'; ioredis: boolean };

interface Replica {
  readonly id: string;
  readonly child: ChildProcess;
  readonly messages: ReplicaMessage[];
  output: string;
}

const redis = new RedisServer();
let replicas: Replica[] = [];

beforeAll(async () => {
  if (!existsSync(dist))
    throw new Error(`${dist} is missing: build the package first (npx tsc -p tsconfig.build.json)`);
  await redis.start();
});

afterEach(async () => {
  await Promise.all(replicas.map(stopReplica));
  replicas = [];
});

afterAll(async () => {
  await redis.dispose();
});

/** A process of `contexts` replicas (Nest application contexts, each with its own module and Redis connection). */
function startReplica(id: string, options: Record<string, unknown>, contexts = 1): Replica {
  const child = fork(fixture, [], {
    env: { ...process.env, REPLICA_OPTIONS: JSON.stringify(options), REPLICA_CONTEXTS: String(contexts) },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const replica: Replica = { id, child, messages: [], output: '' };
  const keep = (chunk: Buffer): void => {
    replica.output = (replica.output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('message', (message: ReplicaMessage) => replica.messages.push(message));
  return replica;
}

async function startReplicas(
  count: number,
  options: (id: string) => Record<string, unknown>,
  contexts = 1,
): Promise<Replica[]> {
  replicas = Array.from({ length: count }, (_, index) => {
    const id = `replica-${index}`;
    return startReplica(id, options(id), contexts);
  });
  await until(
    'every replica to start',
    () => replicas.every((r) => r.messages.some((m) => m.kind === 'ready')),
    30_000,
  );
  return replicas;
}

async function stopReplica(replica: Replica): Promise<void> {
  const { child } = replica;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A replica that does not close within a few seconds is killed: it started nothing else.
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  if (child.connected) child.send({ cmd: 'stop' });
  else child.kill('SIGKILL');
  await exited;
  clearTimeout(kill);
}

function tellAll(cmd: 'fail' | 'recover'): void {
  for (const replica of replicas) replica.child.send({ cmd });
}

/** Moves every replica's clock forward: IPC keeps the order, so what is sent next sees the new time. */
function advanceAll(ms: number): void {
  for (const replica of replicas) replica.child.send({ cmd: 'advance', ms });
}

function events(type: string): ReceivedEvent[] {
  return replicas.flatMap((r) =>
    r.messages.flatMap((m) => (m.kind === 'event' && m.event.type === type ? [m.event] : [])),
  );
}

/** Decisions on `type` so far across the replicas: sent, or left to another replica. */
function decisions(type: string): number {
  const leftToOthers = replicas.flatMap((r) =>
    r.messages.filter((m) => m.kind === 'log' && m.level === 'debug' && m.message.includes(`did not send ${type}`)),
  );
  return events(type).length + leftToOthers.length;
}

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    const dead = replicas.find((r) => r.child.exitCode !== null);
    if (dead) throw new Error(`${dead.id} exited (${dead.child.exitCode}) while waiting for ${what}:\n${dead.output}`);
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}; replica output:\n${replicas.map((r) => r.output).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('replicas in separate processes sharing one Redis', () => {
  it('page once per cooldown window and resolve once, under one outage id', async () => {
    const serviceName = 'billing-api';
    await startReplicas(REPLICAS, (replicaId) => ({
      serviceName,
      thresholdMs: 0,
      cooldownMs: COOLDOWN_MS,
      cluster: { redis: redis.url, replicaId },
    }));

    tellAll('fail');
    await until('a decision from every replica', () => decisions(UNREACHABLE) === REPLICAS);
    expect(events(UNREACHABLE)).toHaveLength(1);
    expect(events(UNREACHABLE)[0]).toMatchObject({ serviceName, occurrence: 1 });

    // Past the cooldown, on every replica's clock and on the cluster's record.
    advanceAll(COOLDOWN_MS);
    tellAll('fail');
    await until('a decision from every replica', () => decisions(UNREACHABLE) === 2 * REPLICAS);
    const alerts = events(UNREACHABLE);
    expect(alerts).toHaveLength(2);
    expect(alerts.map((e) => e.occurrence).sort()).toEqual([1, 2]);

    tellAll('recover');
    await until('a decision from every replica', () => decisions(RECOVERED) === REPLICAS);
    const recoveries = events(RECOVERED);
    expect(recoveries).toHaveLength(1);
    expect(new Set([...alerts, ...recoveries].map((e) => e.outageId)).size).toBe(1);

    const warnings = replicas.flatMap((r) => r.messages.filter((m) => m.kind === 'log' && m.level === 'warn'));
    expect(warnings).toEqual([]);
  }, 20_000);

  it('page once per cooldown window and resolve once with 50 replicas in 5 processes on one redis-server', async () => {
    const PROCESSES = 5;
    const PER_PROCESS = 10;
    const ALL = PROCESSES * PER_PROCESS;
    const WINDOWS = 3;
    const pagerduty = await HttpReceiver.start();
    pagerduty.fallback = { status: 202 };
    try {
      await startReplicas(
        PROCESSES,
        (replicaId) => ({
          serviceName: 'ledger-api',
          thresholdMs: 0,
          cooldownMs: 60_000,
          channels: [
            { type: 'pagerduty', routingKey: 'R0UTINGKEY0000000000000000000000', url: pagerduty.url('/v2/enqueue') },
          ],
          cluster: { redis: redis.url, replicaId },
        }),
        PER_PROCESS,
      );
      for (let window = 1; window <= WINDOWS; window += 1) {
        if (window > 1) advanceAll(60_000);
        // Every replica fails twice in the window: the second failure is within its own cooldown.
        tellAll('fail');
        tellAll('fail');
        await until(`a decision from every replica in window ${window}`, () => decisions(UNREACHABLE) === window * ALL);
        expect(
          events(UNREACHABLE)
            .map((e) => e.occurrence)
            .sort(),
        ).toEqual(Array.from({ length: window }, (_, i) => i + 1));
      }
      tellAll('recover');
      await until('a decision from every replica on the recovery', () => decisions(RECOVERED) === ALL);
      await pagerduty.waitForRequests(WINDOWS + 1);
      await sleep(50);

      const all = [...events(UNREACHABLE), ...events(RECOVERED)];
      expect(events(RECOVERED)).toHaveLength(1);
      expect(new Set(all.map((e) => e.outageId)).size).toBe(1);
      const pages = pagerduty.bodies() as { event_action: string; dedup_key: string }[];
      expect(pages.map((p) => p.event_action)).toEqual([...Array<string>(WINDOWS).fill('trigger'), 'resolve']);
      expect(new Set(pages.map((p) => p.dedup_key)).size).toBe(1);
      const warnings = replicas.flatMap((r) => r.messages.filter((m) => m.kind === 'log' && m.level === 'warn'));
      expect(warnings).toEqual([]);
    } finally {
      await pagerduty.close();
    }
  }, 60_000);

  it('never loads ioredis without the cluster option', async () => {
    const [plain, clustered] = [
      startReplica('plain', { thresholdMs: 0 }),
      startReplica('clustered', { thresholdMs: 0, cluster: { redis: redis.url } }),
    ];
    replicas = [plain, clustered];
    await until(
      'both replicas to start',
      () => replicas.every((r) => r.messages.some((m) => m.kind === 'ready')),
      15_000,
    );
    tellAll('fail');
    await until('an alert from each', () => events(UNREACHABLE).length === 2);
    for (const replica of replicas) replica.child.send({ cmd: 'modules' });
    await until('both module lists', () => replicas.every((r) => r.messages.some((m) => m.kind === 'modules')));
    const ioredisLoaded = (replica: Replica) =>
      replica.messages.find((m): m is { kind: 'modules'; ioredis: boolean } => m.kind === 'modules')!.ioredis;
    expect(ioredisLoaded(plain)).toBe(false);
    expect(ioredisLoaded(clustered)).toBe(true);
  }, 20_000);

  it('lets another replica send the alert when the claimer is killed between its claim and its delivery', async () => {
    const receiver = await HttpReceiver.start();
    try {
      // The first delivery never gets an answer: the claimer is killed while it waits.
      receiver.reply('hang');
      const hookTimeoutMs = 300;
      const channelTimeoutMs = 300;
      const redisTimeoutMs = 200;
      // The documented bound: the lease, plus one Redis round trip.
      const leaseMs = 1_000;
      await startReplicas(3, (replicaId) => ({
        serviceName: 'ledger-api',
        thresholdMs: 0,
        cooldownMs: 60_000,
        hookTimeoutMs,
        channels: [{ type: 'webhook', url: receiver.url('/alerts'), timeoutMs: channelTimeoutMs, retries: 0 }],
        cluster: { redis: redis.url, replicaId, timeoutMs: redisTimeoutMs, leaseMs },
      }));

      tellAll('fail');
      await until('the claim', () => events(UNREACHABLE).length === 1 && receiver.requests.length === 1);
      const claimer = replicas.find((r) => r.messages.some((m) => m.kind === 'event'))!;
      const killedAt = Date.now();
      claimer.child.kill('SIGKILL');
      const survivors = replicas.filter((r) => r !== claimer);

      await until("the alert sent in the claimer's place", () => receiver.requests.length === 2, 5_000);
      const tookMs = Date.now() - killedAt;
      await sleep(leaseMs + 100);
      const [lost, delivered] = receiver.bodies() as ReceivedEvent[];
      expect(delivered).toMatchObject({ type: UNREACHABLE, outageId: lost!.outageId, occurrence: 1 });
      expect(receiver.requests).toHaveLength(2);
      expect(survivors.flatMap((r) => r.messages.filter((m) => m.kind === 'event'))).toHaveLength(1);
      expect(tookMs).toBeLessThan(leaseMs + 2_000);
      const warnings = survivors.flatMap((r) =>
        r.messages.filter((m) => m.kind === 'log' && m.level === 'warn' && m.message.includes('in place of')),
      );
      expect(warnings).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  }, 20_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ChildApp, spawnApp, until } from '../support/child-app.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * A fleet: 200 replicas (Nest application contexts of the built package, 20
 * in each of 10 Node processes) on one real redis-server, through a full
 * outage, a partial one, a capacity warning and a run of rejected records.
 * The parent drives every write and moves every clock over IPC; each replica's
 * hook forwards what it sends. Kept within a CI budget of 2 cores: the
 * contexts are light (no channel, one monitor), and the whole case takes
 * one and a half to two minutes on such a machine under load, most of it
 * starting the contexts (docs/performance.md).
 */

const fixture = fileURLToPath(new URL('./fixtures/replica.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

const PROCESSES = 10;
const PER_PROCESS = 20;
const ALL = PROCESSES * PER_PROCESS;
const THRESHOLD_MS = 10_000;
const COOLDOWN_MS = 60_000;
const WINDOW_MS = 5_000;
const UNREACHABLE = 'audit.storage.unreachable';
const DEGRADED = 'audit.storage.degraded';
const RECOVERED = 'audit.storage.recovered';
const CAPACITY = 'audit.storage.capacity';
const REJECTED = 'audit.records.rejected';

interface SentEvent {
  type: string;
  outageId: string;
  occurrence?: number;
  level?: string;
}

type ReplicaMessage =
  { kind: 'ready' } | { kind: 'event'; event: SentEvent } | { kind: 'log'; level: string; message: string };

const redis = new RedisServer();
let processes: ChildApp<ReplicaMessage>[] = [];

beforeAll(async () => {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
  await redis.start();
});

afterEach(async () => {
  await Promise.all(processes.map(stop));
  processes = [];
});

afterAll(async () => {
  await redis.dispose();
});

function started(app: ChildApp<ReplicaMessage>): boolean {
  if (app.child.exitCode !== null) throw new Error(`a replica process exited (${app.child.exitCode}):\n${app.output}`);
  return app.messages.some((m) => m.kind === 'ready');
}

async function stop(app: ChildApp<ReplicaMessage>): Promise<void> {
  const { child } = app;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A process that does not close within a few seconds is killed: it started nothing else.
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  if (child.connected) child.send({ cmd: 'stop' });
  else child.kill('SIGKILL');
  await exited;
  clearTimeout(kill);
}

function tellAll(message: Record<string, unknown>): void {
  for (const { child } of processes) child.send(message);
}

/** Moves every replica's clock: IPC keeps the order, so what is sent next sees the new time. */
function advanceAll(ms: number): void {
  tellAll({ cmd: 'advance', ms });
}

/** What the fleet sent of `type`, in the order of their occurrence (processes report each in its own order). */
function sent(type: string): SentEvent[] {
  return processes
    .flatMap((p) => p.messages.flatMap((m) => (m.kind === 'event' && m.event.type === type ? [m.event] : [])))
    .sort((a, b) => (a.occurrence ?? 0) - (b.occurrence ?? 0));
}

function logged(level: string, text: string): number {
  return processes.reduce(
    (sum, p) =>
      sum + p.messages.filter((m) => m.kind === 'log' && m.level === level && m.message.includes(text)).length,
    0,
  );
}

/** Decisions on `type` (of outage `outageId` only) across the fleet: sent, or left to another replica. */
function decisions(type: string, outageId = ''): number {
  const own = sent(type).filter((e) => outageId === '' || e.outageId === outageId).length;
  return own + logged('debug', `did not send ${type} (monitor "default", outage ${outageId}`);
}

async function decided(what: string, type: string, count: number, outageId = ''): Promise<void> {
  let seen = 0;
  // Generous: 200 replicas on 2 busy cores take seconds to decide what one replica decides in a millisecond.
  await until(
    what,
    () => {
      const dead = processes.find((p) => p.child.exitCode !== null);
      if (dead) throw new Error(`a replica process exited (${dead.child.exitCode}):\n${dead.output}`);
      seen = decisions(type, outageId);
      return seen >= count;
    },
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${seen} decisions of ${count}`);
  });
  // Anything more would be a duplicate: give it the time to show.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('a fleet of 200 replicas in 10 processes on one redis-server', () => {
  it('pages once per window for each kind of event, and resolves each outage once', async () => {
    const startedAt = Date.now();
    processes = Array.from({ length: PROCESSES }, (_, index) =>
      spawnApp<ReplicaMessage>(fixture, {
        REPLICA_OPTIONS: JSON.stringify({
          serviceName: 'ledger-api',
          thresholdMs: THRESHOLD_MS,
          cooldownMs: COOLDOWN_MS,
          degraded: { ratio: 0.5, windowMs: WINDOW_MS, minWrites: 10 },
          capacity: { warnAt: 0.8, intervalMs: 200 },
          // A busy CI machine answers slowly: a replica deciding alone would send a duplicate.
          cluster: { redis: redis.url, replicaId: `process-${index}`, timeoutMs: 5_000 },
        }),
        REPLICA_CONTEXTS: String(PER_PROCESS),
        REPLICA_CLASSIFY: '1',
      }),
    );
    await until('every process to start its replicas', () => processes.every(started), 120_000);
    const bootMs = Date.now() - startedAt;

    // A full outage over two cooldown windows, then the recovery.
    tellAll({ cmd: 'fail' });
    advanceAll(THRESHOLD_MS);
    tellAll({ cmd: 'fail' });
    await decided('the first unreachable alert', UNREACHABLE, ALL);
    advanceAll(COOLDOWN_MS);
    tellAll({ cmd: 'fail' });
    await decided('the second unreachable alert', UNREACHABLE, 2 * ALL);
    tellAll({ cmd: 'recover' });
    await decided('the recovery', RECOVERED, ALL);
    const unreachable = sent(UNREACHABLE);
    expect(unreachable.map((e) => e.occurrence)).toEqual([1, 2]);
    expect(sent(RECOVERED).map((e) => e.outageId)).toEqual([unreachable[0]!.outageId]);

    // A partial outage (60 % of writes failing) over two windows, then the recovery.
    advanceAll(COOLDOWN_MS);
    for (let second = 0; second <= WINDOW_MS / 1_000; second += 1) {
      tellAll({ cmd: 'partial' });
      advanceAll(1_000);
    }
    await decided('the first degraded warning', DEGRADED, ALL);
    advanceAll(COOLDOWN_MS);
    tellAll({ cmd: 'partial' });
    advanceAll(1_000);
    tellAll({ cmd: 'partial' });
    await decided('the second degraded warning', DEGRADED, 2 * ALL);
    const degraded = sent(DEGRADED);
    expect(degraded.map((e) => e.occurrence)).toEqual([1, 2]);
    const outageId = degraded[0]!.outageId;
    expect(degraded[1]!.outageId).toBe(outageId);
    // Before the degraded period, each replica's brief outages (ended by a success) were decided too.
    const before = decisions(RECOVERED, outageId);
    advanceAll(WINDOW_MS);
    tellAll({ cmd: 'recover' });
    advanceAll(WINDOW_MS);
    tellAll({ cmd: 'recover' });
    await decided('the end of the partial outage', RECOVERED, before + ALL, outageId);
    expect(sent(RECOVERED).map((e) => e.outageId)).toEqual(
      expect.arrayContaining([unreachable[0]!.outageId, outageId]),
    );
    expect(sent(RECOVERED)).toHaveLength(2);

    // Usage past warnAt on the shared storage, then back to normal.
    tellAll({ cmd: 'capacity', used: 90 });
    await decided('the capacity warning', CAPACITY, ALL);
    tellAll({ cmd: 'capacity', used: 10 });
    await decided('the end of the capacity warning', CAPACITY, 2 * ALL);
    expect(sent(CAPACITY).map((e) => e.level)).toEqual(['warning', 'normal']);
    expect(new Set(sent(CAPACITY).map((e) => e.outageId)).size).toBe(1);

    // Records refused for the threshold.
    tellAll({ cmd: 'reject' });
    advanceAll(THRESHOLD_MS);
    tellAll({ cmd: 'reject' });
    await decided('the rejected records', REJECTED, ALL);
    expect(sent(REJECTED)).toHaveLength(1);

    expect(logged('warn', '')).toBe(0);
    expect(logged('error', '')).toBe(0);
    process.stdout.write(
      `fleet of ${ALL} replicas: started in ${bootMs} ms, whole case ${Date.now() - startedAt} ms\n`,
    );
  }, 600_000);
});

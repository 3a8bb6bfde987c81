import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { type ChildApp, forkApp, killApp, sleep, until } from '../support/child-app.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * The lease of an alert claim, with real processes: three replicas (the built
 * package, dist/, built by `npm test` before jest runs) on one real
 * redis-server, each with a PagerDuty channel pointed at one receiver on
 * 127.0.0.1. The receiver answers the first trigger 503, so the claimer's
 * delivery waits out a 2 s backoff, longer than the lease: the claimer must
 * renew its claim to keep the others quiet, and when it dies or hangs during
 * that backoff another replica must page within the lease.
 */

const fixture = fileURLToPath(new URL('./fixtures/replica.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

const LEASE_MS = 1_500;
const BACKOFF_MS = 2_000;
const COOLDOWN_MS = 15_000;
/** How often the replicas that stay alive record a failed write. */
const FAILURE_EVERY_MS = 250;
/** Room above the lease for one Redis round trip and a delivery, on a busy machine. */
const SLACK_MS = 2_000;
const TEST_TIMEOUT_MS = 90_000;
const UNREACHABLE = 'audit.storage.unreachable';

type ReplicaMessage =
  | { kind: 'ready' }
  | { kind: 'event'; event: { type: string; outageId: string; occurrence?: number } }
  | { kind: 'log'; level: string; message: string };

type Replica = ChildApp<ReplicaMessage>;

interface Page {
  event_action: string;
  dedup_key: string;
}

const redis = new RedisServer();
let pagerduty: HttpReceiver;
let replicas: Replica[] = [];
let failing: NodeJS.Timeout | null = null;
let service = 0;

beforeAll(async () => {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
  await redis.start();
});

afterEach(async () => {
  stopFailing();
  // A stopped process is killed all the same.
  await Promise.all(replicas.map(killApp));
  replicas = [];
  await pagerduty?.close();
});

afterAll(async () => {
  await redis.dispose();
});

/** Three replicas of a new service; the receiver answers the first trigger 503, then 202. */
async function startReplicas(): Promise<void> {
  service += 1;
  pagerduty = await HttpReceiver.start();
  pagerduty.reply({ status: 503 });
  pagerduty.fallback = { status: 202, body: '{"status":"success"}' };
  replicas = await Promise.all(
    ['replica-0', 'replica-1', 'replica-2'].map((replicaId) =>
      forkApp<ReplicaMessage>(fixture, {
        REPLICA_OPTIONS: JSON.stringify({
          serviceName: `ledger-api-${service}`,
          thresholdMs: 0,
          cooldownMs: COOLDOWN_MS,
          channels: [
            {
              type: 'pagerduty',
              routingKey: 'R0UTINGKEY0000000000000000000000',
              url: pagerduty.url('/v2/enqueue'),
              backoffMs: BACKOFF_MS,
            },
          ],
          cluster: { redis: redis.url, replicaId, leaseMs: LEASE_MS },
        }),
      }),
    ),
  );
}

function tell(among: readonly Replica[], cmd: 'fail' | 'recover'): void {
  for (const replica of among) replica.child.send({ cmd });
}

/** Every replica fails once; resolves with the claimer once its first trigger got its 503. */
async function claim(): Promise<Replica> {
  tell(replicas, 'fail');
  await until('the first trigger and its claimer', () => pagerduty.requests.length === 1 && eventsOf(replicas) === 1);
  return replicas.find((r) => eventsOf([r]) === 1)!;
}

/** The replicas that stay alive record a failed write every 250 ms, as a busy service would. */
function keepFailing(among: readonly Replica[]): void {
  failing = setInterval(() => tell(among, 'fail'), FAILURE_EVERY_MS);
}

function stopFailing(): void {
  if (failing) clearInterval(failing);
  failing = null;
}

function eventsOf(among: readonly Replica[]): number {
  return among.flatMap((r) => r.messages.filter((m) => m.kind === 'event' && m.event.type === UNREACHABLE)).length;
}

function warnings(among: readonly Replica[], text: string): string[] {
  return among.flatMap((r) =>
    r.messages.flatMap((m) => (m.kind === 'log' && m.level === 'warn' && m.message.includes(text) ? [m.message] : [])),
  );
}

function pages(): Page[] {
  return pagerduty.bodies() as Page[];
}

describe('the lease of an alert claim, with replicas in separate processes', () => {
  it(
    'keeps the others quiet while the claimer waits out a backoff longer than the lease',
    async () => {
      await startReplicas();
      const claimer = await claim();
      const others = replicas.filter((r) => r !== claimer);
      keepFailing(others);

      await until("the claimer's retry", () => pagerduty.requests.length === 2, BACKOFF_MS + SLACK_MS + 5_000);
      // Another lease and more: nobody sends in the claimer's place, since it renewed its claim all along.
      await sleep(LEASE_MS + 500);
      expect(pagerduty.requests).toHaveLength(2);
      expect(pages().map((p) => p.event_action)).toEqual(['trigger', 'trigger']);
      expect(eventsOf(others)).toBe(0);
      expect(warnings(replicas, 'in place of')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pages from another replica within the lease when the claimer is killed during its backoff',
    async () => {
      await startReplicas();
      const claimer = await claim();
      const others = replicas.filter((r) => r !== claimer);
      keepFailing(others);

      const killedAt = Date.now();
      await killApp(claimer);
      await until('a trigger in the place of the killed claimer', () => pagerduty.requests.length === 2, 30_000);
      const [lost, sent] = pagerduty.requests;
      // Accepted: every trigger after the first gets 202.
      expect(sent!.receivedAt! - killedAt).toBeLessThanOrEqual(LEASE_MS + SLACK_MS);
      const [first, again] = pages();
      expect(again).toMatchObject({ event_action: 'trigger', dedup_key: first!.dedup_key });
      expect(lost!.receivedAt).toBeLessThan(killedAt);
      expect(warnings(others, 'in place of')).toHaveLength(1);

      // Sent once: the third replica finds the alert confirmed.
      await sleep(LEASE_MS + 500);
      expect(pagerduty.requests).toHaveLength(2);
      stopFailing();
      tell(others, 'recover');
      await until('the resolve', () => pagerduty.requests.length === 3);
      expect(pages()[2]).toMatchObject({ event_action: 'resolve', dedup_key: first!.dedup_key });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pages from another replica within the lease when the claimer hangs (SIGSTOP) during its backoff; woken, it sends a duplicate under the same key',
    async () => {
      await startReplicas();
      const claimer = await claim();
      const others = replicas.filter((r) => r !== claimer);
      keepFailing(others);

      const stoppedAt = Date.now();
      claimer.child.kill('SIGSTOP');
      await until('a trigger in the place of the hung claimer', () => pagerduty.requests.length === 2, 30_000);
      expect(pagerduty.requests[1]!.receivedAt! - stoppedAt).toBeLessThanOrEqual(LEASE_MS + SLACK_MS);
      const [first, again] = pages();
      expect(again).toMatchObject({ event_action: 'trigger', dedup_key: first!.dedup_key });
      expect(warnings(others, 'in place of')).toHaveLength(1);

      // Woken, the claimer finds its claim taken over and says so; its delivery goes on: its retry is a second
      // trigger of the same incident (same dedup_key), which PagerDuty folds into the open one.
      claimer.child.kill('SIGCONT');
      await until(
        'the woken claimer to see its claim taken over',
        () => warnings([claimer], 'no longer holds').length === 1,
      );
      await until("the woken claimer's retry", () => pagerduty.requests.length === 3, BACKOFF_MS + SLACK_MS + 5_000);
      expect(pages()[2]).toMatchObject({ event_action: 'trigger', dedup_key: first!.dedup_key });

      // Once every trigger is in, the storage comes back: one resolve, last, of the same incident.
      stopFailing();
      tell(replicas, 'recover');
      await until('the resolve', () => pagerduty.requests.length === 4);
      await sleep(LEASE_MS);
      expect(pages().map((p) => p.event_action)).toEqual(['trigger', 'trigger', 'trigger', 'resolve']);
      expect(new Set(pages().map((p) => p.dedup_key)).size).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  type AuditAlertEvent,
  AuditAlertModule,
  AuditMonitorRegistry,
  AuditStorageMonitor,
  type OnAuditAlert,
} from '../../src/index.js';
import { AUDIT_ALERT_REDIS } from '../../src/audit-alert.constants.js';
import type { RedisAlertCoordinator } from '../../src/cluster/redis-alert.coordinator.js';
import { RESOLVE_AND_CLAIM_SCRIPT } from '../../src/cluster/redis-alert.scripts.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * Three replicas of one service in one process, each its own Nest application
 * with its own ManualClock (advanced together), sharing one real redis-server:
 * an acknowledgement given to one stops the repeats of all.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;
const UNREACHABLE = 'audit.storage.unreachable';
const STORAGE_ERROR = new Error('connect ECONNREFUSED 10.0.0.5:5432');

const received: AuditAlertEvent[] = [];

@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push(event);
  }
}

interface Replica {
  readonly id: string;
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly monitor: AuditStorageMonitor;
}

const logger = new CaptureLogger();
const redis = new RedisServer();
let replicas: Replica[] = [];
let service = 0;

beforeAll(async () => {
  await redis.start();
});

afterEach(async () => {
  await Promise.all(replicas.map((r) => r.app.close()));
  replicas = [];
  received.length = 0;
  logger.lines.length = 0;
});

afterAll(async () => {
  await redis.dispose();
});

async function startReplicas(count: number): Promise<Replica[]> {
  service += 1;
  replicas = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const id = `replica-${index}`;
      const clock = new ManualClock();
      const moduleRef = await Test.createTestingModule({
        imports: [
          AuditAlertModule.forRoot({
            serviceName: `ack-api-${service}`,
            thresholdMs: THRESHOLD_MS,
            cooldownMs: COOLDOWN_MS,
            cluster: { redis: redis.url, replicaId: id },
          }),
        ],
        providers: [RecordingHook],
      })
        .overrideProvider(AUDIT_ALERT_CLOCK)
        .useValue(clock)
        .compile();
      const app = moduleRef.createNestApplication({ logger });
      await app.init();
      return { id, app, clock, monitor: app.get(AuditStorageMonitor) };
    }),
  );
  await until('every replica to reach Redis', () =>
    replicas.every((r) => !logger.of('warn').some((line) => line.startsWith(`Replica "${r.id}" cannot coordinate`))),
  );
  return replicas;
}

const advanceAll = (ms: number): void => replicas.forEach((r) => r.clock.advance(ms));
const failAll = (): void => replicas.forEach((r) => r.monitor.recordFailure(STORAGE_ERROR));
const sent = (type: string): AuditAlertEvent[] => received.filter((e) => e.type === type);
const logged = (text: string): number => logger.of('debug').filter((line) => line.includes(text)).length;

/** Decisions of the cluster on an unreachable alert: sent, left to another replica, or held back as acknowledged. */
const decisions = (): number => sent(UNREACHABLE).length + logged(`did not send ${UNREACHABLE}`);

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setImmediate(resolve));
}

describe('an acknowledgement under cluster', () => {
  it('given to one replica stops the repeats on all three, until the recovery', async () => {
    await startReplicas(3);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('3 decisions on the first alert', () => decisions() === 3);
    expect(sent(UNREACHABLE)).toHaveLength(1);
    const outageId = (sent(UNREACHABLE)[0] as { outageId: string }).outageId;

    // Acknowledged on the replica that may not be the one that paged.
    const acknowledged = await replicas[2]!.app.get(AuditMonitorRegistry).acknowledge(outageId, { by: 'ana' });
    expect(acknowledged).toMatchObject({ outageId, by: 'ana', alreadyAcknowledged: false });
    await until('the acknowledgement to be sent', () => sent('audit.alert.acknowledged').length === 1);

    // Every window after: the replica acknowledged raises no repeat; the two others hold theirs back.
    for (let window = 1; window <= 3; window += 1) {
      advanceAll(COOLDOWN_MS);
      failAll();
      await until(`2 repeats held back in window ${window}`, () => logged('the outage is acknowledged') >= 2 * window);
    }
    expect(sent(UNREACHABLE)).toHaveLength(1);

    // Another replica sees the acknowledgement too: a second one answers with the first.
    const again = await replicas[0]!.app.get(AuditMonitorRegistry).acknowledge(outageId, { by: 'bob' });
    expect(again).toMatchObject({ by: 'ana', alreadyAcknowledged: true });
    expect(sent('audit.alert.acknowledged')).toHaveLength(1);

    // The recovery is sent once; the next outage pages and repeats as usual.
    replicas.forEach((r) => r.monitor.recordSuccess());
    await until('the recovery', () => sent('audit.storage.recovered').length === 1);
    received.length = 0;
    logger.lines.length = 0;
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('3 decisions on the next outage', () => decisions() === 3);
    advanceAll(COOLDOWN_MS);
    failAll();
    await until('3 decisions on its repeat', () => decisions() === 6);
    expect(sent(UNREACHABLE)).toHaveLength(2);
  });

  it('that lands while a replica claims the repeat holds that repeat: the check and the claim are one step in Redis', async () => {
    await startReplicas(2);
    failAll();
    advanceAll(THRESHOLD_MS);
    await until('2 decisions on the first alert', () => decisions() === 2);
    const outageId = (sent(UNREACHABLE)[0] as { outageId: string }).outageId;

    // The acknowledgement reaches Redis just before the repeat's claim does, after anything the replica read before it.
    const link = replicas[1]!.app.get<RedisAlertCoordinator>(AUDIT_ALERT_REDIS);
    const forward = link.eval.bind(link);
    let claimed: unknown = null;
    link.eval = async (script, keys, args) => {
      // The claim of the next window's alert (not the join, nor a take-over of an unconfirmed claim).
      if (script !== RESOLVE_AND_CLAIM_SCRIPT || args[4] !== '1' || claimed !== null)
        return forward(script, keys, args);
      claimed = 'pending';
      await replicas[0]!.app.get(AuditMonitorRegistry).acknowledge(outageId, { by: 'ana' });
      const reply = await forward(script, keys, args);
      claimed = reply;
      return reply;
    };
    replicas[1]!.clock.advance(COOLDOWN_MS);
    replicas[1]!.monitor.recordFailure(STORAGE_ERROR);
    await until('the repeat to be claimed', () => Array.isArray(claimed));
    await until('the held repeat to be logged', () => logged('the outage is acknowledged') >= 1);
    expect(sent(UNREACHABLE)).toHaveLength(1);
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ACL_PASSWORD, ACL_USER, documentedAclLine } from '../support/documented-acl.js';
import { RedisSentinelGroup } from '../support/redis-sentinel.js';
import { waitUntil } from '../support/redis-server.js';
import { RECOVERED, ReplicaFleet, UNREACHABLE } from '../support/replica-fleet.js';

/*
 * Two replicas reaching Redis through Sentinel, as operators run it: a real
 * master, its replica and three redis-sentinels the suite starts, given to the
 * module as ioredis `sentinels` and `name`, with the least ACL user of
 * docs/cluster.md (which covers ioredis' check that it reached the master). The master is SIGKILLed in the
 * middle of an outage of a real storage (a TCP server that goes away) and the
 * Sentinels promote the replica. Duplicates are allowed while the replicas
 * cannot reach a master; silence and a lost recovery are not.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;
const RECORDS_KEY = 'audit-alert:{billing-api:default}:outages';

let fleet: ReplicaFleet;
let group: RedisSentinelGroup;

beforeAll(async () => {
  fleet = await ReplicaFleet.create({ serviceName: 'billing-api', thresholdMs: THRESHOLD_MS, cooldownMs: COOLDOWN_MS });
});

beforeEach(async () => {
  group = new RedisSentinelGroup();
  await group.start();
  // As the user docs/cluster.md gives, created on both nodes: ACL SETUSER is not replicated.
  const line = await documentedAclLine();
  for (const node of [group.master, group.replica!]) await node.cli('acl', ...line);
  const redis = { sentinels: group.sentinels, name: group.masterName, username: ACL_USER, password: ACL_PASSWORD };
  // A lease longer than the test: the replica that left the first alert to the other checks its confirmation
  // at the lease's end, and, finding Redis down then, would send it again alone (an allowed duplicate the
  // counts below do not expect).
  await fleet.start(2, () => ({ redis, timeoutMs: 1_000, leaseMs: 60_000 }));
}, 30_000);

afterEach(async () => {
  await fleet.stopReplicas();
  await group.dispose();
});

afterAll(async () => {
  await fleet?.dispose();
});

/**
 * The storage goes down and both replicas pass their threshold: one page, through the master. Returns
 * once the Redis replica holds the confirmation of its delivery: a confirmation the master dies with
 * has the claim's lease run out on the promoted replica, and another replica send that alert again.
 */
async function firstAlert(): Promise<string> {
  await fleet.storage.stop();
  await fleet.writeAll();
  fleet.advanceAll(THRESHOLD_MS);
  await fleet.until('both replicas to decide on the alert', () => fleet.decisions(UNREACHABLE) === 2);
  expect(fleet.received(UNREACHABLE)).toHaveLength(1);
  expect(fleet.logger.of('warn')).toEqual([]);
  const { outageId } = fleet.received(UNREACHABLE)[0]!;
  await waitUntil(
    5_000,
    async () => (await group.replica!.cli('hget', RECORDS_KEY, outageId)).includes('"confirmed":1'),
    'the confirmation of the alert to reach the Redis replica',
  );
  return outageId;
}

/** Waits until both replicas have reached the promoted master. */
async function reconnected(): Promise<void> {
  await group.waitForPromotion();
  await fleet.until('both replicas to reach the promoted master', () =>
    fleet.replicas.every((replica) => fleet.reachesRedis(replica.id)),
  );
}

describe('replicas behind Sentinel', () => {
  it('page in every window while the master is killed and the replica promoted, and resolve the outage', async () => {
    const outageId = await firstAlert();

    // The master dies mid-outage; the next window falls due before the Sentinels have promoted the replica.
    await group.master.stop({ signal: 'SIGKILL' });
    fleet.advanceAll(COOLDOWN_MS);
    await fleet.writeAll();
    await fleet.until('both replicas to decide on the second window', () => fleet.decisions(UNREACHABLE) === 4);
    expect(fleet.received(UNREACHABLE).length).toBeGreaterThanOrEqual(2);
    expect(fleet.logger.of('warn')).toContainEqual(expect.stringContaining('without cluster coordination'));

    // Promoted: the replicas coordinate again through the new master, one page for the window.
    await reconnected();
    const before = fleet.received(UNREACHABLE).length;
    fleet.advanceAll(COOLDOWN_MS);
    await fleet.writeAll();
    await fleet.until('both replicas to decide on the third window', () => fleet.decisions(UNREACHABLE) === 6);
    expect(fleet.received(UNREACHABLE).length - before).toBe(1);

    await fleet.storage.start();
    await fleet.writeAll();
    await fleet.until('the recovery at the receiver', () => fleet.received(RECOVERED).length >= 1);
    const events = fleet.received();
    expect(new Set(events.map((event) => event.outageId))).toEqual(new Set([outageId]));
    expect(events.at(-1)!.type).toBe(RECOVERED);
  }, 30_000);

  it('deliver the recovery when the storage comes back while the master is down, and page nothing after it', async () => {
    const outageId = await firstAlert();

    await group.master.stop({ signal: 'SIGKILL' });
    await fleet.storage.start();
    await fleet.writeAll();
    await fleet.until('the recovery at the receiver', () => fleet.received(RECOVERED).length >= 1);
    expect(fleet.received(RECOVERED)[0]!.outageId).toBe(outageId);

    // Back on the promoted master, which still holds the outage as open: writes that succeed resolve it there.
    await reconnected();
    await fleet.writeAll();
    fleet.advanceAll(COOLDOWN_MS);
    await fleet.writeAll();
    const events = fleet.received();
    expect(events.filter((event) => event.type === UNREACHABLE)).toHaveLength(1);
    expect(events.findIndex((event) => event.type === RECOVERED)).toBeGreaterThan(
      events.findIndex((event) => event.type === UNREACHABLE),
    );
    expect(events.every((event) => event.outageId === outageId)).toBe(true);
  }, 30_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { Cluster, Redis } from 'ioredis';
import { AuditMonitorRegistry } from '../../src/index.js';
import { ACL_DOCS, ACL_PASSWORD, ACL_USER, documentedAclLine } from '../support/documented-acl.js';
import { RedisCluster, RedisServer } from '../support/redis-server.js';
import { RECOVERED, ReplicaFleet, UNREACHABLE } from '../support/replica-fleet.js';

/*
 * The whole flow as the ACL user docs/cluster.md tells operators to create:
 * the `ACL SETUSER` line is read from that page, so the documented rights and
 * the tested ones cannot drift apart. Redis counts every command it runs,
 * those the Lua scripts call included (INFO commandstats), and logs every one
 * it refuses (ACL LOG): together they show the line is enough and no wider
 * than the flow needs, save the rights the page reserves for what is coming.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;
const USER = ACL_USER;
const PASSWORD = ACL_PASSWORD;
/** Rights the page keeps for features not built yet (the ledger's stream, claim counters, scripts by SHA1). */
// Rights of features the flow below does not use: the evidence ledger's stream, annotate() under cluster.
const RESERVED = ['xadd', 'xrange', 'hexists'];
/** What ioredis' Cluster client needs besides, as the page says: the slot map and its ready check. */
const CLUSTER_RIGHTS = ['+cluster|slots', '+cluster|info'];
/** Connection commands Redis lets every user run, and what this suite itself runs as the default user. */
const NOT_RIGHTS = ['auth', 'hello', 'quit', 'config|resetstat', 'acl|log'];

let redis: RedisServer;
let fleet: ReplicaFleet;
let rights: string[];

/** Commands Redis ran (or refused) since the last CONFIG RESETSTAT, with their refusals. */
async function commandStats(): Promise<Map<string, { calls: number; rejected: number }>> {
  const stats = new Map<string, { calls: number; rejected: number }>();
  for (const line of (await redis.cli('info', 'commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),.*rejected_calls=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1]!, { calls: Number(match[2]), rejected: Number(match[3]) });
  }
  return stats;
}

beforeAll(async () => {
  redis = new RedisServer();
  await redis.start();
  const line = await documentedAclLine();
  expect((await redis.cli('acl', ...line)).trim()).toBe('OK');
  rights = line.filter((arg) => arg.startsWith('+')).map((arg) => arg.slice(1).toLowerCase());
  fleet = await ReplicaFleet.create({ serviceName: 'billing-api', thresholdMs: THRESHOLD_MS, cooldownMs: COOLDOWN_MS });
});

afterAll(async () => {
  await fleet?.dispose();
  await redis?.dispose();
});

describe('the ACL user docs/cluster.md gives', () => {
  it('runs the whole flow, and Redis refuses it nothing outside the documented rights', async () => {
    await redis.cli('config', 'resetstat');
    await redis.cli('acl', 'log', 'reset');
    await fleet.start(2, () => ({ redis: { url: redis.url, username: USER, password: PASSWORD }, timeoutMs: 2_000 }));
    const [first, second] = fleet.replicas;

    // An outage: the alert, its repeat a cooldown later, the recovery; once each across the replicas.
    await fleet.storage.stop();
    await fleet.writeAll();
    fleet.advanceAll(THRESHOLD_MS);
    await fleet.until('both replicas to decide on the alert', () => fleet.decisions(UNREACHABLE) === 2);
    fleet.advanceAll(COOLDOWN_MS);
    await fleet.writeAll();
    await fleet.until('both replicas to decide on the repeat', () => fleet.decisions(UNREACHABLE) === 4);
    await fleet.storage.start();
    await fleet.writeAll();
    await fleet.until('the recovery', () => fleet.received(RECOVERED).length === 1);

    // A silence set on one replica, seen by the other, lifted there: the store every replica shares.
    const silence = await first!.app
      .get(AuditMonitorRegistry)
      .silence({ durationMs: 60_000, reason: 'CHG-1', createdBy: 'ops@example.com' });
    expect((await second!.app.get(AuditMonitorRegistry).listSilences()).map((s) => s.id)).toEqual([silence.id]);
    expect(await second!.app.get(AuditMonitorRegistry).unsilence(silence.id)).toBe(true);
    expect(fleet.received(UNREACHABLE).map((event) => event.occurrence)).toEqual([1, 2]);
    expect(fleet.logger.of('warn')).toEqual([]);
    expect(fleet.logger.of('error')).toEqual([]);
    await fleet.stopReplicas();

    const stats = await commandStats();
    expect((await redis.cli('acl', 'log')).trim()).toBe('');
    const refused = [...stats].filter(([, { rejected }]) => rejected > 0).map(([name]) => name);
    expect(refused).toEqual([]);
    const ran = [...stats.keys()].filter((name) => !NOT_RIGHTS.includes(name));
    // Enough: every command the flow ran, in a script or not, is one the line grants.
    expect(ran.filter((name) => !rights.includes(name))).toEqual([]);
    // And no wider: every right the flow did not use is one the page reserves.
    expect(rights.filter((right) => !ran.includes(right) && !RESERVED.includes(right))).toEqual([]);
  }, 20_000);

  it('is refused what the module never needs', async () => {
    const client = new Redis(redis.url, { username: USER, password: PASSWORD, lazyConnect: true });
    try {
      await client.connect();
      await client.set('audit-alert:probe', '1');
      const refusals = await Promise.all(
        [
          () => client.flushall(),
          () => client.keys('*'),
          () => client.config('GET', 'requirepass'),
          () => client.script('FLUSH'),
          () => client.get('other-app:session'),
          () => client.eval("return redis.call('GET', KEYS[1])", 1, 'other-app:session'),
          () => client.subscribe('audit-alert:events'),
        ].map((command) =>
          command().then(
            () => 'allowed',
            (error: Error) => error.message,
          ),
        ),
      );
      for (const refusal of refusals) expect(refusal).toMatch(/NOPERM|can't run this command|no permissions/);
    } finally {
      client.disconnect();
    }
  });

  it('runs the flow on a Redis Cluster with the two rights the page adds for it', async () => {
    const docs = await readFile(ACL_DOCS, 'utf8');
    for (const right of CLUSTER_RIGHTS) expect(docs).toContain(right);
    const line = await documentedAclLine();
    const cluster = new RedisCluster(3);
    const clients: Cluster[] = [];
    try {
      await cluster.start();
      for (const node of cluster.nodes) {
        expect((await node.cli('acl', ...line, ...CLUSTER_RIGHTS)).trim()).toBe('OK');
        await node.cli('acl', 'log', 'reset');
      }
      await fleet.start(2, async () => {
        const redisOptions = { username: USER, password: PASSWORD };
        const client = new Cluster(cluster.startupNodes, { redisOptions, enableOfflineQueue: false });
        clients.push(client);
        await new Promise((resolve, reject) => {
          client.once('ready', resolve);
          setTimeout(
            () => reject(new Error(`the Cluster client is still ${client.status} after 10 s`)),
            10_000,
          ).unref();
        });
        return { redis: client, timeoutMs: 2_000 };
      });

      await fleet.storage.stop();
      await fleet.writeAll();
      fleet.advanceAll(THRESHOLD_MS);
      await fleet.until('both replicas to decide on the alert', () => fleet.decisions(UNREACHABLE) === 2);
      await fleet.storage.start();
      await fleet.writeAll();
      await fleet.until('the recovery', () => fleet.received(RECOVERED).length === 1);
      expect(fleet.received(UNREACHABLE)).toHaveLength(1);
      expect(fleet.logger.of('warn')).toEqual([]);

      // ioredis names the connection it refreshes the slot map on, and shrugs off the refusal.
      for (const node of cluster.nodes) {
        const log = await node.cli('acl', 'log');
        const refused = [...log.matchAll(/^object\n(.+)$/gm)].map((match) => match[1]);
        expect(refused.filter((command) => command !== 'client|setname')).toEqual([]);
      }
    } finally {
      await fleet.stopReplicas();
      for (const client of clients) client.disconnect();
      await cluster.dispose();
    }
  }, 30_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../support/redis-server.js';
import { RECOVERED, ReplicaFleet, UNREACHABLE } from '../support/replica-fleet.js';
import { makeTlsCertificates, type TlsCertificates } from '../support/tls-certificates.js';

/*
 * Replicas reaching Redis over TLS only: a real redis-server with a tls-port
 * (its plain port is 0, closed), presenting a certificate signed by a CA the
 * suite makes with the openssl CLI; the replicas trust that CA through
 * ioredis' `tls: { ca }`. Every coordinated decision below went through TLS.
 */

const THRESHOLD_MS = 1_000;
const COOLDOWN_MS = 10_000;

let dir: string;
let certificates: TlsCertificates;
let redis: RedisServer;
let fleet: ReplicaFleet;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-alert-tls-'));
  certificates = await makeTlsCertificates(dir);
  redis = new RedisServer(undefined, { tls: certificates });
  await redis.start();
  fleet = await ReplicaFleet.create({ serviceName: 'billing-api', thresholdMs: THRESHOLD_MS, cooldownMs: COOLDOWN_MS });
}, 30_000);

afterEach(async () => {
  await fleet.stopReplicas();
});

afterAll(async () => {
  await fleet?.dispose();
  await redis?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('replicas reaching Redis over TLS (rediss://)', () => {
  it('page once per window and resolve once, with the CA given to ioredis', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    await fleet.start(2, () => ({ redis: { url: redis.url, tls: { ca: certificates.ca } }, timeoutMs: 2_000 }));

    await fleet.storage.stop();
    await fleet.writeAll();
    fleet.advanceAll(THRESHOLD_MS);
    await fleet.until('both replicas to decide on the alert', () => fleet.decisions(UNREACHABLE) === 2);
    expect(fleet.received(UNREACHABLE)).toHaveLength(1);
    const [alert] = fleet.received(UNREACHABLE);

    fleet.advanceAll(COOLDOWN_MS);
    await fleet.writeAll();
    await fleet.until('both replicas to decide on the repeat', () => fleet.decisions(UNREACHABLE) === 4);
    expect(fleet.received(UNREACHABLE).map((event) => event.occurrence)).toEqual([1, 2]);

    await fleet.storage.start();
    await fleet.writeAll();
    await fleet.until('the recovery', () => fleet.received(RECOVERED).length === 1);
    expect(fleet.received(RECOVERED)[0]!.outageId).toBe(alert!.outageId);
    // The cluster's record of the outage lives in the Redis that only speaks TLS.
    expect(await redis.cli('hexists', 'audit-alert:{billing-api:default}:outages', alert!.outageId)).toContain('1');
    expect(fleet.logger.of('warn')).toEqual([]);
  }, 20_000);

  it('refuses a server whose certificate a wrong CA did not sign: the boot goes on, the log says why, and each replica alerts alone', async () => {
    await redis.cli('flushall');
    await fleet.start(2, () => ({ redis: { url: redis.url, tls: { ca: certificates.otherCa } }, timeoutMs: 500 }));
    for (const replica of fleet.replicas) {
      expect(fleet.logger.of('warn')).toContainEqual(
        expect.stringMatching(
          new RegExp(`^Replica "${replica.id}" cannot coordinate alerts through Redis \\(.*self[- ]signed certificate`),
        ),
      );
    }

    await fleet.storage.stop();
    await fleet.writeAll();
    fleet.advanceAll(THRESHOLD_MS);
    await fleet.until('an alert from each replica', () => fleet.received(UNREACHABLE).length === 2);
    expect(fleet.logger.of('warn').filter((line) => line.includes('without cluster coordination'))).toHaveLength(2);
    expect((await redis.cli('dbsize')).trim()).toBe('0');
  }, 20_000);
});

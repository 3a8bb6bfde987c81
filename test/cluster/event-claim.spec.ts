import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { CLAIM_EVENT_SCRIPT } from '../../src/cluster/event-claim.script.js';
import { RedisServer } from '../support/redis-server.js';

/*
 * The claim of an event other than an outage's alert or recovery, run as the
 * replicas run it: the script on a real redis-server, each call one replica's
 * claim at a wall-clock time of its own.
 */

const WINDOW_MS = 10_000;
const T0 = Date.UTC(2026, 0, 1, 12);
const EPISODES = 'audit-alert:{ledger-api:default}:episodes';
const OUTAGES = 'audit-alert:{ledger-api:default}:outages';

const redis = new RedisServer();
let client: Redis;

beforeAll(async () => {
  await redis.start();
  client = new Redis(redis.url);
});

beforeEach(async () => {
  await client.flushall();
});

afterAll(async () => {
  client.disconnect();
  await redis.dispose();
});

interface Claim {
  type?: string;
  ownId: string;
  state?: string;
  step?: 'opens' | 'closes' | 'once';
  at: number;
  outageEpisode?: boolean;
}

/** One replica's claim: `[granted, the cluster's id, the cluster's occurrence]`. */
async function claim({
  type = 'audit.records.rejected',
  ownId,
  state = '',
  step = 'opens',
  at,
  outageEpisode = false,
}: Claim) {
  return (await client.eval(
    CLAIM_EVENT_SCRIPT,
    2,
    EPISODES,
    OUTAGES,
    type,
    ownId,
    state,
    step,
    String(at),
    String(WINDOW_MS),
    '86400000',
    outageEpisode ? '1' : '0',
  )) as [number, string, number];
}

describe('the claim of an event for the cluster', () => {
  it("grants one replica per window, under the first claimer's id and the cluster's occurrence", async () => {
    expect(await claim({ ownId: 'a', at: T0 })).toEqual([1, 'a', 1]);
    expect(await claim({ ownId: 'b', at: T0 + 5 })).toEqual([0, 'a', 1]);
    expect(await claim({ ownId: 'c', at: T0 + WINDOW_MS - 1 })).toEqual([0, 'a', 1]);
    expect(await claim({ ownId: 'c', at: T0 + WINDOW_MS })).toEqual([1, 'a', 2]);
    // A clock a window behind holds nobody back for longer than a window.
    expect(await claim({ ownId: 'b', at: T0 })).toEqual([1, 'a', 3]);
  });

  it("opens a new episode under the claimer's id once nothing was claimed for two windows", async () => {
    await claim({ ownId: 'a', at: T0 });
    expect(await claim({ ownId: 'b', at: T0 + 2 * WINDOW_MS })).toEqual([1, 'b', 1]);
  });

  it('sends a change of state at once, and the end of an episode once, only when one is open', async () => {
    const capacity = { type: 'audit.storage.capacity' };
    expect(await claim({ ...capacity, ownId: 'a', state: 'normal', step: 'closes', at: T0 })).toEqual([0, '', 0]);
    expect(await claim({ ...capacity, ownId: 'a', state: 'warning', at: T0 })).toEqual([1, 'a', 1]);
    expect(await claim({ ...capacity, ownId: 'b', state: 'warning', at: T0 + 1 })).toEqual([0, 'a', 1]);
    expect(await claim({ ...capacity, ownId: 'b', state: 'critical', at: T0 + 2 })).toEqual([1, 'a', 2]);
    expect(await claim({ ...capacity, ownId: 'c', state: 'critical', at: T0 + 3 })).toEqual([0, 'a', 2]);
    expect(await claim({ ...capacity, ownId: 'c', state: 'normal', step: 'closes', at: T0 + 4 })).toEqual([1, 'a', 3]);
    expect(await claim({ ...capacity, ownId: 'b', state: 'normal', step: 'closes', at: T0 + 5 })).toEqual([0, 'a', 3]);
    // The next warning opens another episode, at once.
    expect(await claim({ ...capacity, ownId: 'b', state: 'warning', at: T0 + 6 })).toEqual([1, 'b', 1]);
  });

  it("grants an event that is its own episode once per window, under the claimer's own id", async () => {
    const replayed = { type: 'audit.spool.replayed', step: 'once' as const };
    expect(await claim({ ...replayed, ownId: 'drain-a', at: T0 })).toEqual([1, 'drain-a', 1]);
    expect(await claim({ ...replayed, ownId: 'drain-b', at: T0 + 1 })).toEqual([0, 'drain-a', 1]);
    expect(await claim({ ...replayed, ownId: 'drain-b', at: T0 + WINDOW_MS })).toEqual([1, 'drain-b', 1]);
  });

  it("ends a degraded warning's episode with its outage, once the recovery is announced", async () => {
    const degraded = { type: 'audit.storage.degraded', outageEpisode: true };
    await client.hset(OUTAGES, 'outage-1', JSON.stringify({ first: T0, failures: 6, occ: 0 }));
    expect(await claim({ ...degraded, ownId: 'outage-1', at: T0 })).toEqual([1, 'outage-1', 1]);
    // A replica that joined another id (its outage opened while the cluster's key was away) adopts this one.
    expect(await claim({ ...degraded, ownId: 'outage-2', at: T0 + 1 })).toEqual([0, 'outage-1', 1]);
    // The record is only read: no replica's brief outage may announce this one's end.
    expect(JSON.parse((await client.hget(OUTAGES, 'outage-1'))!)).not.toHaveProperty('alerted');

    await client.hset(OUTAGES, 'outage-1', JSON.stringify({ first: T0, failures: 6, occ: 0, recovered: 'r' }));
    await client.hset(OUTAGES, 'outage-3', JSON.stringify({ first: T0, failures: 6, occ: 0 }));
    expect(await claim({ ...degraded, ownId: 'outage-3', at: T0 + 2 })).toEqual([1, 'outage-3', 1]);
  });
});

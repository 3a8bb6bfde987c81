import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditMonitorRegistry } from '../../src/index.js';
import type { LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';
import { SILENCE_REFRESH_MS } from '../../src/silences/audit-alert-silences.js';
import { ChannelApps, settle } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { RedisServer } from '../support/redis-server.js';

const MINUTE = 60_000;
const REASON = 'CHG-77: failover drill';
const BY = 'sre@example.com';

const redis = new RedisServer();
beforeAll(() => redis.start());
afterAll(() => redis.dispose());

const apps = new ChannelApps();
afterEach(() => apps.dispose());

let service = 0;

/** Two replicas of one service, sharing a real redis-server, each with its own clock, alerting to one receiver. */
async function twoReplicas() {
  const receiver = await apps.receiver();
  const serviceName = `silenced-api-${(service += 1)}`;
  const boot = async (replicaId: string) => {
    // Each replica's ledger, in memory.
    const ledger: LedgerRecord[] = [];
    const booted = await apps.boot(
      {
        serviceName,
        thresholdMs: MINUTE,
        channels: [{ type: 'webhook', url: receiver.url() }],
        cluster: { redis: redis.url, replicaId },
      },
      {
        ledger: {
          append: (record) => void ledger.push(record),
          appendSynced: (record) => Promise.resolve(ledger.push(record) > 0),
        },
      },
    );
    return { ...booted, ledger, registry: booted.app.get(AuditMonitorRegistry) };
  };
  return { receiver, a: await boot('replica-a'), b: await boot('replica-b') };
}

const kinds = (ledger: LedgerRecord[]): string[] => ledger.map((record) => record.kind);

describe('silences with cluster', () => {
  it('are obeyed by every replica: set on one, the alert of another is held, and sent when lifted there', async () => {
    const { receiver, a, b } = await twoReplicas();
    const silence = await a.registry.silence({ durationMs: 30 * MINUTE, reason: REASON, createdBy: BY });
    expect(await b.registry.listSilences()).toEqual([{ ...silence, status: 'active', held: 0 }]);

    b.monitor.recordFailure(new Error('replica b cannot write'));
    b.clock.advance(MINUTE);
    const outageId = () => String((receiver.bodies()[0] as { outageId: string }).outageId);
    await waitFor(
      () =>
        b.logger.text().includes(`held by silence ${silence.id}`) ||
        a.logger.text().includes(`held by silence ${silence.id}`),
      'the alert held on replica b',
    );
    await settle();
    expect(receiver.requests).toHaveLength(0);
    expect(b.monitor.getStatus().state).toBe('alerting');

    // Lifted on replica a; replica b reads the shared silences again and sends what it held.
    expect(await a.registry.unsilence(silence.id)).toBe(true);
    expect(await a.registry.listSilences()).toEqual([]);
    b.clock.advance(SILENCE_REFRESH_MS);
    await receiver.waitForRequests(1);
    await settle();
    expect(receiver.bodies()).toEqual([
      expect.objectContaining({
        type: 'audit.storage.unreachable',
        monitor: 'default',
        lastError: 'Error: replica b cannot write',
        occurrence: 1,
      }),
    ]);
    expect(outageId()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('end on every replica at their end, sending the alert held on another', async () => {
    const { receiver, a, b } = await twoReplicas();
    await b.registry.silence({ durationMs: 10 * MINUTE, reason: REASON, createdBy: BY });
    await a.registry.listSilences();
    a.monitor.recordFailure('replica a cannot write');
    a.clock.advance(MINUTE);
    await waitFor(() => a.logger.text().includes('held by silence') || b.logger.text().includes('held by silence'));
    await settle();
    expect(receiver.requests).toHaveLength(0);
    a.clock.advance(9 * MINUTE);
    await receiver.waitForRequests(1);
    expect((receiver.bodies()[0] as { type: string }).type).toBe('audit.storage.unreachable');
  });

  it('refuse a silence Redis cannot store, and keep obeying the ones read last while it is away', async () => {
    const { receiver, a, b } = await twoReplicas();
    const silence = await a.registry.silence({ durationMs: 30 * MINUTE, reason: REASON, createdBy: BY });
    await b.registry.listSilences();
    await redis.stop();
    try {
      await expect(a.registry.silence({ durationMs: MINUTE, reason: 'second window', createdBy: BY })).rejects.toThrow(
        /^The silence could not be shared through Redis \(.+\), so no replica would obey it; it was not set\.$/,
      );
      b.clock.advance(SILENCE_REFRESH_MS);
      b.monitor.recordFailure(new Error('down while Redis is away'));
      b.clock.advance(MINUTE);
      await waitFor(
        () =>
          b.logger.text().includes(`held by silence ${silence.id}`) ||
          a.logger.text().includes(`held by silence ${silence.id}`),
      );
      await settle();
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await redis.start();
    }
  });

  it('record a silence and its end once for the cluster, whichever replica reads it first', async () => {
    const { a, b } = await twoReplicas();
    const silence = await a.registry.silence({ durationMs: 10 * MINUTE, reason: REASON, createdBy: BY });
    await b.registry.listSilences();
    for (const replica of [a, b]) replica.clock.advance(10 * MINUTE + SILENCE_REFRESH_MS);
    await waitFor(() => [...a.ledger, ...b.ledger].some((record) => record.kind === 'silence-ended'));
    for (const replica of [a, b]) replica.clock.advance(SILENCE_REFRESH_MS);
    await settle();
    expect(kinds(a.ledger).filter((kind) => kind === 'silence-created')).toHaveLength(1);
    expect(kinds(b.ledger)).not.toContain('silence-created');
    const ended = [...a.ledger, ...b.ledger].filter((record) => record.kind === 'silence-ended');
    expect(ended).toEqual([
      expect.objectContaining({ silenceId: silence.id, createdBy: BY, held: 0, ended: 'expired' }),
    ]);
  });

  it('send the alert a replica held, from another replica, once, when the holder is gone', async () => {
    const { receiver, a, b } = await twoReplicas();
    const silence = await a.registry.silence({ durationMs: 10 * MINUTE, reason: REASON, createdBy: BY });
    await b.registry.listSilences();
    b.monitor.recordFailure(new Error('replica b cannot write'));
    b.clock.advance(MINUTE);
    await waitFor(() => b.logger.text().includes(`held by silence ${silence.id}`), 'the alert held on replica b');
    await waitFor(() => b.logger.text().includes('held by silence') && receiver.requests.length === 0);
    // Replica b goes away with the alert held; Redis keeps it.
    apps.release(b);
    await b.app.close();

    // Replica a sends it once the silence has ended and b has not, a read later.
    a.clock.advance(10 * MINUTE);
    await settle();
    expect(receiver.requests).toHaveLength(0);
    a.clock.advance(SILENCE_REFRESH_MS);
    await settle();
    a.clock.advance(SILENCE_REFRESH_MS);
    await receiver.waitForRequests(1);
    for (let i = 0; i < 3; i += 1) {
      a.clock.advance(SILENCE_REFRESH_MS);
      await settle();
    }
    expect(receiver.bodies()).toEqual([
      expect.objectContaining({
        type: 'audit.storage.unreachable',
        lastError: 'Error: replica b cannot write',
        occurrence: 1,
        outageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
    ]);
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { AuditAlertConfigError, AuditMonitorRegistry } from '../../src/index.js';
import { ChannelApps, settle } from '../channels/support/channel-app.js';
import type { HttpReceiver } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const MINUTE = 60_000;
const REASON = 'CHG-1234: PostgreSQL 15 to 16 upgrade';
const BY = 'dba-oncall@example.com';

type Body = Record<string, unknown>;
const bodies = (receiver: HttpReceiver): Body[] => receiver.bodies() as Body[];
const types = (receiver: HttpReceiver): string[] => bodies(receiver).map((body) => String(body.type));

/** One webhook channel and a monitor that alerts after a minute, repeating every five. */
async function bootSilenced(extra: { monitors?: { name: string }[] } = {}) {
  const receiver = await apps.receiver();
  const booted = await apps.boot({
    thresholdMs: MINUTE,
    cooldownMs: 5 * MINUTE,
    channels: [{ type: 'webhook', url: receiver.url() }],
    ...extra,
  });
  return { ...booted, receiver, registry: booted.app.get(AuditMonitorRegistry) };
}

describe('silences', () => {
  it('hold an outage alerted during maintenance, keep tracking, and send the alert when the silence ends', async () => {
    const { registry, monitor, clock, logger, receiver } = await bootSilenced();
    const silence = await registry.silence({ durationMs: 30 * MINUTE, reason: REASON, createdBy: BY });
    expect(silence).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      monitors: null,
      startsAt: new Date('2026-01-01T12:00:00.000Z'),
      endsAt: new Date('2026-01-01T12:30:00.000Z'),
      reason: REASON,
      createdBy: BY,
    });
    expect(await registry.listSilences()).toEqual([{ ...silence, status: 'active', held: 0 }]);

    clock.advance(20 * MINUTE);
    monitor.recordFailure(new Error('maintenance overran'));
    clock.advance(MINUTE);
    monitor.recordFailure(new Error('still down'));
    await settle();
    expect(receiver.requests).toHaveLength(0);
    // Tracking goes on: the monitor alerts, as its status shows.
    expect(monitor.getStatus()).toMatchObject({ state: 'alerting', consecutiveFailures: 2 });
    const outageId = monitor.getStatus().outageId!;
    expect(logger.of('warn')).toEqual([
      `audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) held by silence ${silence.id} until 2026-01-01T12:30:00.000Z ("${REASON}"); it is sent when the silence ends if the outage is still open.`,
    ]);

    // The maintenance overruns: at the silence's end the latest alert (a repeat, held too) goes out, up to date.
    clock.advance(9 * MINUTE - 1);
    await settle();
    expect(receiver.requests).toHaveLength(0);
    monitor.recordFailure(new Error('overran badly'));
    clock.advance(1);
    await receiver.waitForRequests(1);
    expect(bodies(receiver)[0]).toEqual({
      type: 'audit.storage.unreachable',
      outageId,
      monitor: 'default',
      serviceName: 'unknown_service:node',
      firstFailureAt: '2026-01-01T12:20:00.000Z',
      consecutiveFailures: 3,
      unreachableDurationMs: 10 * MINUTE,
      lastError: 'Error: overran badly',
      occurrence: 2,
      probeFailures: 0,
    });
    expect(await registry.listSilences()).toEqual([]);
    expect(logger.of('log')).toContain(
      `No silence holds it any more: sending audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 2).`,
    );

    // And the recovery follows it, as after any alert.
    monitor.recordSuccess();
    await receiver.waitForRequests(2);
    expect(types(receiver)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
  });

  it('still deliver the recovery of an outage alerted before the silence', async () => {
    const { registry, monitor, clock, receiver } = await bootSilenced();
    monitor.recordFailure('down');
    clock.advance(MINUTE);
    await receiver.waitForRequests(1);
    await registry.silence({ durationMs: 60 * MINUTE, reason: REASON, createdBy: BY });
    clock.advance(5 * MINUTE);
    monitor.recordFailure('still down'); // a repeat: held
    clock.advance(MINUTE);
    monitor.recordSuccess();
    await receiver.waitForRequests(2);
    await settle();
    expect(types(receiver)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    // Nothing is left to send when the silence ends.
    clock.advance(60 * MINUTE);
    await settle();
    expect(receiver.requests).toHaveLength(2);
  });

  it('send nothing of an outage that began and ended within the silence, and say so', async () => {
    const { registry, monitor, clock, logger, receiver } = await bootSilenced();
    const { id } = await registry.silence({
      until: new Date('2026-01-01T13:00:00.000Z'),
      reason: REASON,
      createdBy: BY,
    });
    monitor.recordFailure('down');
    clock.advance(MINUTE);
    const outageId = monitor.getStatus().outageId!;
    monitor.recordSuccess();
    clock.advance(2 * 60 * MINUTE);
    await settle();
    expect(receiver.requests).toHaveLength(0);
    expect(logger.of('warn')).toEqual([
      expect.stringContaining(`held by silence ${id}`),
      `audit.storage.recovered (monitor "default", outage ${outageId}) ended what was held by a silence; neither it nor the held audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) is sent.`,
    ]);
  });

  it('hold only the latest alert of an outage, and send it at once when lifted early', async () => {
    const { registry, monitor, clock, receiver } = await bootSilenced();
    const { id } = await registry.silence({ durationMs: 60 * MINUTE, reason: REASON, createdBy: BY });
    monitor.recordFailure('down');
    clock.advance(MINUTE);
    clock.advance(5 * MINUTE);
    monitor.recordFailure('down');
    clock.advance(5 * MINUTE);
    monitor.recordFailure('down');
    await settle();
    expect(receiver.requests).toHaveLength(0);
    expect(await registry.unsilence(id)).toBe(true);
    expect(await registry.unsilence(id)).toBe(false);
    await receiver.waitForRequests(1);
    await settle();
    expect(bodies(receiver).map((body) => body.occurrence)).toEqual([3]);
  });

  it('send a held alert with a duration in whole milliseconds, however finely time moved while it was held', async () => {
    const { registry, monitor, clock, receiver } = await bootSilenced();
    const { id } = await registry.silence({ durationMs: 60 * MINUTE, reason: REASON, createdBy: BY });
    monitor.recordFailure('down');
    clock.advance(MINUTE);
    await settle();
    // A monotonic clock reads fractions of a millisecond (performance.now()).
    clock.advance(0.375);
    expect(await registry.unsilence(id)).toBe(true);
    await receiver.waitForRequests(1);
    const duration = bodies(receiver)[0]!.unreachableDurationMs;
    expect(Number.isInteger(duration)).toBe(true);
    expect(duration).toBe(MINUTE);
  });

  it('silence only the monitors named, and never a test alert', async () => {
    const { registry, clock, receiver } = await bootSilenced({ monitors: [{ name: 'orders' }, { name: 'ledger' }] });
    await registry.silence({ monitors: ['orders'], durationMs: 60 * MINUTE, reason: REASON, createdBy: BY });
    registry.get('orders').recordFailure('down');
    registry.get('ledger').recordFailure('down');
    clock.advance(MINUTE);
    await receiver.waitForRequests(1);
    const results = await registry.sendTestAlert({ monitor: 'orders' });
    expect(results).toEqual([expect.objectContaining({ delivered: true })]);
    await settle();
    expect(bodies(receiver).map((body) => `${body.type} ${body.monitor}`)).toEqual([
      'audit.storage.unreachable ledger',
      'audit.alert.test orders',
    ]);
  });

  it('are refused without a reason, past maxSilenceMs, or with an unknown monitor', async () => {
    const { app } = await apps.boot({ maxSilenceMs: 2 * 60 * MINUTE, monitors: [{ name: 'orders' }] });
    const registry = app.get(AuditMonitorRegistry);
    const refusal = async (options: unknown): Promise<AuditAlertConfigError> => {
      try {
        await registry.silence(options as never);
      } catch (error) {
        expect(error).toBeInstanceOf(AuditAlertConfigError);
        return error as AuditAlertConfigError;
      }
      throw new Error('accepted');
    };
    expect((await refusal({ durationMs: MINUTE })).message).toBe(
      'Invalid audit alert option "silence(options).reason": received undefined; expected a non-empty string of at most 500 characters saying why.',
    );
    expect((await refusal({ durationMs: MINUTE, reason: '  ', createdBy: BY })).option).toBe('silence(options).reason');
    expect((await refusal({ durationMs: 3 * 60 * MINUTE, reason: REASON, createdBy: BY })).message).toBe(
      'Invalid audit alert option "silence(options).durationMs": received 10800000; expected a number of milliseconds above 0 and at most maxSilenceMs (7200000).',
    );
    expect((await refusal({ until: new Date('2026-01-01T15:00:00.000Z'), reason: REASON, createdBy: BY })).option).toBe(
      'silence(options).until',
    );
    expect((await refusal({ until: new Date('2025-12-31T00:00:00.000Z'), reason: REASON, createdBy: BY })).option).toBe(
      'silence(options).until',
    );
    expect((await refusal({ reason: REASON, createdBy: BY })).message).toContain('either durationMs or until');
    expect((await refusal({ durationMs: MINUTE, until: new Date(), reason: REASON, createdBy: BY })).option).toBe(
      'silence(options).durationMs',
    );
    expect(
      (await refusal({ monitors: ['ordres'], durationMs: MINUTE, reason: REASON, createdBy: BY })).message,
    ).toContain('expected a non-empty array of monitor names: orders');
    expect((await refusal({ durationMs: MINUTE, reason: REASON, forever: true })).option).toBe(
      'silence(options).forever',
    );
    expect(await registry.listSilences()).toEqual([]);
  });

  it('default maxSilenceMs to 24 hours, and refuse a bad one at bootstrap', async () => {
    const { app } = await apps.boot({});
    const registry = app.get(AuditMonitorRegistry);
    await expect(
      registry.silence({ durationMs: 24 * 60 * MINUTE, reason: REASON, createdBy: BY }),
    ).resolves.toBeDefined();
    await expect(registry.silence({ durationMs: 24 * 60 * MINUTE + 1, reason: REASON, createdBy: BY })).rejects.toThrow(
      'at most maxSilenceMs (86400000)',
    );
    await expect(apps.boot({ maxSilenceMs: 0 })).rejects.toThrow(
      'Invalid audit alert option "maxSilenceMs": received 0',
    );
  });
});

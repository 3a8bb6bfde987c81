import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditAlertConfigError, AuditMonitorRegistry } from '../../src/index.js';
import type { AuditLedgerWriter, LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';
import { ChannelApps, settle } from '../channels/support/channel-app.js';
import type { HttpReceiver } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const MINUTE = 60_000;
const REASON = 'CHG-2201: ledger database failover';
const BY = 'dba-oncall@example.com';

/** The ledger as a list: what the module appended, in order. */
class MemoryLedger implements AuditLedgerWriter {
  readonly records: LedgerRecord[] = [];
  append(record: LedgerRecord): void {
    this.records.push(record);
  }
  appendSynced(record: LedgerRecord): Promise<boolean> {
    this.append(record);
    return Promise.resolve(true);
  }
  silences(): LedgerRecord[] {
    return this.records.filter((record) => record.kind.startsWith('silence-'));
  }
}

const types = (receiver: HttpReceiver): string[] =>
  (receiver.bodies() as { type: string }[]).map((body) => String(body.type));

/** A webhook channel, a monitor alerting after a minute, and the ledger in memory; the clock starts at 12:00 UTC. */
async function boot() {
  const receiver = await apps.receiver();
  const ledger = new MemoryLedger();
  const booted = await apps.boot(
    {
      thresholdMs: MINUTE,
      cooldownMs: 5 * MINUTE,
      channels: [{ type: 'webhook', url: receiver.url() }],
      monitors: [{ name: 'ledger' }, { name: 'archive' }],
    },
    { ledger },
  );
  return { ...booted, receiver, ledger, registry: booted.app.get(AuditMonitorRegistry) };
}

describe('silences fit for an audit', () => {
  it('refuse a silence without createdBy, naming the field', async () => {
    const { registry } = await boot();
    const refusal = (options: unknown) => registry.silence(options as never);
    await expect(refusal({ durationMs: MINUTE, reason: REASON })).rejects.toThrow(
      new AuditAlertConfigError(
        'Invalid audit alert option "silence(options).createdBy": received undefined; expected a non-empty string of at most 200 characters naming who sets the silence.',
        'silence(options).createdBy',
      ),
    );
    await expect(refusal({ durationMs: MINUTE, reason: REASON, createdBy: ' ' })).rejects.toMatchObject({
      option: 'silence(options).createdBy',
    });
    await expect(refusal({ durationMs: MINUTE, reason: REASON, createdBy: 'x'.repeat(201) })).rejects.toMatchObject({
      option: 'silence(options).createdBy',
    });
    expect(await registry.listSilences()).toEqual([]);
  });

  it('refuse a startsAt that is no date, or an until not after it', async () => {
    const { registry } = await boot();
    const refusal = (options: unknown) =>
      registry.silence({ reason: REASON, createdBy: BY, ...(options as object) } as never);
    await expect(refusal({ startsAt: 'tomorrow', durationMs: MINUTE })).rejects.toThrow(
      'Invalid audit alert option "silence(options).startsAt": received \'tomorrow\'; expected a Date or an ISO 8601 date-time string.',
    );
    await expect(refusal({ startsAt: new Date(Number.NaN), durationMs: MINUTE })).rejects.toMatchObject({
      option: 'silence(options).startsAt',
    });
    await expect(refusal({ startsAt: 1_767_272_400_000, durationMs: MINUTE })).rejects.toMatchObject({
      option: 'silence(options).startsAt',
    });
    await expect(
      refusal({ startsAt: '2026-01-01T14:00:00.000Z', until: '2026-01-01T13:00:00.000Z' }),
    ).rejects.toMatchObject({ option: 'silence(options).until' });
    await expect(refusal({ startsAt: '2026-01-01T14:00:00.000Z', until: '2026-01-02T14:00:00.001Z' })).rejects.toThrow(
      'at most maxSilenceMs (86400000 ms) after it',
    );
    expect(await registry.listSilences()).toEqual([]);
  });

  it('hold nothing before a scheduled window, hold inside it, and send what it held at its end', async () => {
    const { registry, clock, app, receiver } = await boot();
    const ledgerMonitor = app.get(AuditMonitorRegistry).get('ledger');
    // A maintenance window from 13:00 to 13:30, set at 12:00.
    const window = await registry.silence({
      monitors: ['ledger'],
      startsAt: '2026-01-01T13:00:00.000Z',
      durationMs: 30 * MINUTE,
      reason: REASON,
      createdBy: BY,
    });
    expect(window).toMatchObject({
      startsAt: new Date('2026-01-01T13:00:00.000Z'),
      endsAt: new Date('2026-01-01T13:30:00.000Z'),
    });

    // Before the window: an outage pages as if there were no silence.
    ledgerMonitor.recordFailure('down before the window');
    clock.advance(MINUTE);
    await receiver.waitForRequests(1);
    ledgerMonitor.recordSuccess();
    await receiver.waitForRequests(2);
    expect(types(receiver)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);

    // A failure at 12:59 is due to alert at 13:00, as the window begins: held.
    clock.advance(58 * MINUTE);
    ledgerMonitor.recordFailure('down as the window begins');
    clock.advance(MINUTE);
    await settle();
    expect(types(receiver)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(ledgerMonitor.getStatus().state).toBe('alerting');

    // At its end, the outage still open, the held alert goes out; not a millisecond before.
    clock.advance(30 * MINUTE - 1);
    await settle();
    expect(receiver.requests).toHaveLength(2);
    clock.advance(1);
    await receiver.waitForRequests(3);
    expect(types(receiver)).toEqual([
      'audit.storage.unreachable',
      'audit.storage.recovered',
      'audit.storage.unreachable',
    ]);
    expect(receiver.bodies()[2]).toMatchObject({ monitor: 'ledger', firstFailureAt: '2026-01-01T12:59:00.000Z' });
  });

  it('list the active and scheduled silences with who set them and what they held', async () => {
    const { registry, clock, app } = await boot();
    const now = await registry.silence({
      monitors: ['ledger'],
      durationMs: 60 * MINUTE,
      reason: REASON,
      createdBy: BY,
    });
    const later = await registry.silence({
      startsAt: new Date('2026-01-01T18:00:00.000Z'),
      until: new Date('2026-01-01T20:00:00.000Z'),
      reason: 'CHG-2202: archive vacuum',
      createdBy: 'ops-bot',
    });
    const monitor = app.get(AuditMonitorRegistry).get('ledger');
    monitor.recordFailure('down');
    clock.advance(MINUTE);
    clock.advance(5 * MINUTE); // the repeat, held too
    monitor.recordFailure('still down');
    await settle();
    expect(await registry.listSilences()).toEqual([
      {
        id: now.id,
        monitors: ['ledger'],
        startsAt: new Date('2026-01-01T12:00:00.000Z'),
        endsAt: new Date('2026-01-01T13:00:00.000Z'),
        reason: REASON,
        createdBy: BY,
        status: 'active',
        held: 2,
      },
      {
        id: later.id,
        monitors: null,
        startsAt: new Date('2026-01-01T18:00:00.000Z'),
        endsAt: new Date('2026-01-01T20:00:00.000Z'),
        reason: 'CHG-2202: archive vacuum',
        createdBy: 'ops-bot',
        status: 'scheduled',
        held: 0,
      },
    ]);
    clock.advance(6 * 60 * MINUTE);
    await settle();
    expect((await registry.listSilences()).map(({ id, status }) => [id, status])).toEqual([[later.id, 'active']]);
  });

  it('record in the ledger every silence created and ended, expired or removed, with the events it held', async () => {
    const { registry, clock, app, ledger } = await boot();
    const expiring = await registry.silence({
      monitors: ['ledger'],
      durationMs: 30 * MINUTE,
      reason: REASON,
      createdBy: BY,
    });
    const lifted = await registry.silence({
      monitors: ['archive'],
      startsAt: '2026-01-01T15:00:00.000Z',
      durationMs: MINUTE,
      reason: 'CHG-2203',
      createdBy: 'ops-bot',
    });
    const created = (silence: typeof expiring) => ({
      kind: 'silence-created',
      silenceId: silence.id,
      createdBy: silence.createdBy,
      reason: silence.reason,
      monitors: silence.monitors,
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
    });
    expect(ledger.silences()).toEqual([created(expiring), created(lifted)]);

    const monitor = app.get(AuditMonitorRegistry).get('ledger');
    monitor.recordFailure('down');
    clock.advance(MINUTE); // held: 1
    clock.advance(5 * MINUTE);
    monitor.recordFailure('still down'); // its repeat, held: 2
    clock.advance(24 * MINUTE); // the silence expires
    await settle();
    expect(await registry.unsilence(lifted.id)).toBe(true);
    expect(await registry.unsilence(lifted.id)).toBe(false);
    await settle();
    expect(ledger.silences()).toEqual([
      created(expiring),
      created(lifted),
      { ...created(expiring), kind: 'silence-ended', held: 2, ended: 'expired' },
      { ...created(lifted), kind: 'silence-ended', held: 0, ended: 'removed' },
    ]);
  });

  describe('with the state file', () => {
    let dir: string;
    afterEach(async () => {
      await apps.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('keep the silence and its held alert, so that the next process sends it when the silence ends', async () => {
      dir = await mkdtemp(join(tmpdir(), 'audit-alert-silences-'));
      const receiver = await apps.receiver();
      const options = {
        thresholdMs: MINUTE,
        cooldownMs: 60 * MINUTE,
        channels: [{ type: 'webhook' as const, url: receiver.url() }],
        state: { file: join(dir, 'state.json') },
      };
      const first = await apps.boot(options);
      const silence = await first.app
        .get(AuditMonitorRegistry)
        .silence({ durationMs: 30 * MINUTE, reason: REASON, createdBy: BY });
      first.monitor.recordFailure(new Error('down'));
      first.clock.advance(MINUTE);
      const kept = await waitForFile(options.state.file, (content) => content.silences?.held?.length === 1);
      expect(kept.silences!.silences).toEqual([expect.objectContaining({ id: silence.id, createdBy: BY, held: 1 })]);
      const { outageId } = (kept.silences!.held![0] as { event: { outageId: string } }).event;
      apps.release(first);
      await first.app.close();
      expect(receiver.requests).toHaveLength(0);

      // The next process, its clock where the first one's was: it obeys the silence, and sends what it held at its end.
      const second = await apps.boot(options, {}, first.clock);
      expect(await second.app.get(AuditMonitorRegistry).listSilences()).toEqual([
        expect.objectContaining({ id: silence.id, status: 'active', held: 1 }),
      ]);
      second.clock.advance(29 * MINUTE - 1);
      await settle();
      expect(receiver.requests).toHaveLength(0);
      second.clock.advance(1);
      await receiver.waitForRequests(1);
      await settle();
      expect(receiver.bodies()).toEqual([
        expect.objectContaining({ type: 'audit.storage.unreachable', outageId, occurrence: 1 }),
      ]);
      await waitForFile(options.state.file, (content) => content.silences?.held?.length === 0);
    });

    it('start clean from a silences section it cannot read, and never crash on it', async () => {
      dir = await mkdtemp(join(tmpdir(), 'audit-alert-silences-'));
      const file = join(dir, 'state.json');
      const silences = { silences: [{ id: 1 }, 'x', null], held: [{ key: 'k', event: { type: 'nope' } }, 42] };
      await writeFile(
        file,
        JSON.stringify({
          format: 'nestjs-audit-alert/state',
          version: 1,
          serviceName: 'unknown_service:node',
          monitors: {},
          silences,
        }),
      );
      const { app } = await apps.boot({ thresholdMs: MINUTE, state: { file } });
      expect(await app.get(AuditMonitorRegistry).listSilences()).toEqual([]);
    });
  });
});

/** The silences' section of a state file. */
interface KeptSection {
  silences?: { silences?: unknown[]; held?: unknown[] };
}

/** Waits until the state file, as JSON, satisfies `condition`, and returns it. */
async function waitForFile(file: string, condition: (content: KeptSection) => boolean): Promise<KeptSection> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const content = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as KeptSection;
    if (condition(content)) return content;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${file} never reached the expected content`);
}

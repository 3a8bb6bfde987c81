import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlertAcknowledgedEvent,
  AuditAlertConfigError,
  AuditAlertHook,
  AuditOutageResponseError,
  type OnAuditAlert,
} from '../../src/index.js';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { flush } from '../support/manual-clock.js';
import { bootResponseApp, closeResponseApp, type ResponseApp } from './support/response-app.js';

expectNoUnhandledRejections();

const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const THRESHOLD_MS = 10_000;
const COOLDOWN_MS = 60_000;

const apps: ResponseApp[] = [];
const receivers: HttpReceiver[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await closeResponseApp(app);
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function receiver(): Promise<HttpReceiver> {
  const started = await HttpReceiver.start();
  receivers.push(started);
  return started;
}

/** Polls `condition` every few real milliseconds, for at most two seconds. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('Timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Gives deferred deliveries a few real milliseconds, to show that something does not happen. */
async function settle(): Promise<void> {
  await flush();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await flush();
}

type PagerDutyBody = { event_action: string; dedup_key: string };

describe('AuditMonitorRegistry.acknowledge()', () => {
  it('stops the repeats and the fromOccurrence escalation until the recovery, which is still sent; PagerDuty gets trigger, acknowledge and resolve on one key', async () => {
    const [pagerduty, escalation, slack] = [await receiver(), await receiver(), await receiver()];
    const booted = await bootResponseApp({
      serviceName: 'billing-api',
      thresholdMs: THRESHOLD_MS,
      cooldownMs: COOLDOWN_MS,
      channels: [
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url() },
        { type: 'webhook', url: escalation.url(), fromOccurrence: 2 },
        { type: 'slack', url: slack.url() },
      ],
    });
    apps.push(booted);
    const { clock, monitor, registry, ledger } = booted;

    monitor.recordFailure(new Error('connect ECONNREFUSED'));
    clock.advance(THRESHOLD_MS);
    await pagerduty.waitForRequests(1);
    await slack.waitForRequests(1);
    const outageId = monitor.getStatus().outageId!;

    // Acknowledged at T.
    clock.advance(5_000);
    const acknowledged = await registry.acknowledge(outageId, { by: 'ana@example.com', note: 'disk of db-1 full' });
    expect(acknowledged).toEqual({
      outageId,
      monitor: 'default',
      by: 'ana@example.com',
      note: 'disk of db-1 full',
      acknowledgedAt: new Date(clock.wallNow()),
      alreadyAcknowledged: false,
    });
    await pagerduty.waitForRequests(2);
    await slack.waitForRequests(2);
    expect((slack.bodies()[1] as { text: string }).text).toContain('ana@example.com acknowledged');

    // T + cooldown, and long after: the storage still fails, nothing repeats, the escalation never pages.
    clock.advance(COOLDOWN_MS);
    monitor.recordFailure(new Error('still refused'));
    clock.advance(3 * COOLDOWN_MS);
    monitor.recordFailure(new Error('still refused'));
    await settle();
    expect(pagerduty.requests).toHaveLength(2);
    expect(slack.requests).toHaveLength(2);
    expect(escalation.requests).toHaveLength(0);

    // A second acknowledgement changes nothing and answers with the first.
    const again = await registry.acknowledge(outageId, { by: 'bob@example.com' });
    expect(again).toMatchObject({ by: 'ana@example.com', alreadyAcknowledged: true });

    monitor.recordSuccess();
    await pagerduty.waitForRequests(3);
    await slack.waitForRequests(3);
    await settle();
    expect(escalation.requests).toHaveLength(0);
    const bodies = pagerduty.bodies() as PagerDutyBody[];
    expect(bodies.map((body) => body.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    // No store remembers outages here: the incident is keyed by monitor, and every action names it.
    expect(new Set(bodies.map((body) => body.dedup_key))).toEqual(new Set(['audit-storage:billing-api:default']));
    expect(ledger.of('acknowledged')).toEqual([
      {
        kind: 'acknowledged',
        outageId,
        monitor: 'default',
        by: 'ana@example.com',
        note: 'disk of db-1 full',
        acknowledgedAt: acknowledged.acknowledgedAt.toISOString(),
        source: 'registry',
      },
    ]);

    // Ended: it cannot be acknowledged any more; the next outage repeats as usual.
    await expect(registry.acknowledge(outageId, { by: 'ana@example.com' })).rejects.toThrow(AuditOutageResponseError);
    monitor.recordFailure(new Error('refused again'));
    clock.advance(THRESHOLD_MS);
    clock.advance(COOLDOWN_MS);
    monitor.recordFailure(new Error('refused again'));
    await pagerduty.waitForRequests(5);
    await escalation.waitForRequests(1);
  });

  it('keeps the acknowledgement in the state file: the restarted process does not repeat', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'audit-alert-ack-'));
    try {
      const hook = await receiver();
      const options = {
        serviceName: 'billing-api',
        thresholdMs: 0,
        cooldownMs: COOLDOWN_MS,
        state: { file: join(dir, 'state.json') },
        channels: [{ type: 'webhook' as const, url: hook.url() }],
      };
      const first = await bootResponseApp(options);
      first.monitor.recordFailure(new Error('refused'));
      await hook.waitForRequests(1);
      const outageId = first.monitor.getStatus().outageId!;
      await first.registry.acknowledge(outageId, { by: 'ana', note: 'on it' });
      await hook.waitForRequests(2);
      const saved = async (): Promise<unknown> =>
        (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { monitors: { default: unknown } }).monitors
          .default;
      await waitFor(async () => ((await saved()) as { acknowledged?: unknown }).acknowledged !== null);
      expect(await saved()).toMatchObject({ outageId, acknowledged: { by: 'ana', note: 'on it' } });
      await closeResponseApp(first);

      const second = await bootResponseApp(options);
      apps.push(second);
      second.clock.advance(5 * COOLDOWN_MS);
      second.monitor.recordFailure(new Error('still refused'));
      await settle();
      expect(second.monitor.getStatus()).toMatchObject({ outageId, state: 'alerting' });
      expect((hook.bodies() as { type: string }[]).map((body) => body.type)).toEqual([
        'audit.storage.unreachable',
        'audit.alert.acknowledged',
      ]);
      second.monitor.recordSuccess();
      await hook.waitForRequests(3);
      expect((hook.bodies()[2] as { type: string }).type).toBe('audit.storage.recovered');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('acknowledges the Opsgenie alert of the outage by its alias', async () => {
    const opsgenie = await receiver();
    const booted = await bootResponseApp({
      serviceName: 'billing-api',
      thresholdMs: 0,
      channels: [{ type: 'opsgenie', apiKey: 'G3NIEKEY-0123-4567-89ab-cdef01234567', url: opsgenie.url('') }],
    });
    apps.push(booted);
    booted.monitor.recordFailure(new Error('refused'));
    await opsgenie.waitForRequests(1);
    await booted.registry.acknowledge(booted.monitor.getStatus().outageId!, { by: 'ana', note: 'on it' });
    await opsgenie.waitForRequests(2);
    const alias = 'audit-storage:billing-api:default';
    expect(opsgenie.requests.map((request) => request.path)).toEqual([
      '/v2/alerts',
      `/v2/alerts/${encodeURIComponent(alias)}/acknowledge?identifierType=alias`,
    ]);
    expect(opsgenie.bodies()[1]).toEqual({
      user: 'ana',
      source: 'billing-api',
      note: 'ana is on the audit storage outage of billing-api: its repeats stop until it recovers. Note: on it',
    });
  });

  it('sends audit.alert.acknowledged to the hooks that ask for it, with who, what and when', async () => {
    const received: AlertAcknowledgedEvent[] = [];
    @Injectable()
    @AuditAlertHook({ events: ['audit.alert.acknowledged'] })
    class Responses implements OnAuditAlert {
      onAuditAlert(event: AlertAcknowledgedEvent): void {
        received.push(event);
      }
    }
    const booted = await bootResponseApp({ serviceName: 'billing-api', thresholdMs: 0 }, undefined, [Responses]);
    apps.push(booted);
    const { clock, monitor, registry } = booted;
    const startedAt = clock.wallNow();
    monitor.recordFailure(new Error('refused'));
    clock.advance(90_000);
    const outageId = monitor.getStatus().outageId!;
    await registry.acknowledge(outageId, { by: 'ana' });
    await settle();
    expect(received).toEqual([
      {
        type: 'audit.alert.acknowledged',
        outageId,
        monitor: 'default',
        serviceName: 'billing-api',
        by: 'ana',
        note: null,
        acknowledgedAt: new Date(startedAt + 90_000),
        outageStartedAt: new Date(startedAt),
      },
    ]);
  });

  it('refuses, with a clear error, an unknown outage, one not alerted on yet, and bad options', async () => {
    const booted = await bootResponseApp({ thresholdMs: 10_000 });
    apps.push(booted);
    const { monitor, registry, ledger } = booted;
    await expect(registry.acknowledge('nope', { by: 'ana' })).rejects.toThrow(
      'No monitor has an open outage nope: it never existed here or has ended; no outage is open.',
    );
    monitor.recordFailure(new Error('refused'));
    const outageId = monitor.getStatus().outageId!;
    const notAlerted = registry.acknowledge(outageId, { by: 'ana' });
    await expect(notAlerted).rejects.toMatchObject({ name: 'AuditOutageResponseError', reason: 'not-alerted' });
    await expect(registry.acknowledge(outageId, { by: '' })).rejects.toThrow(AuditAlertConfigError);
    await expect(registry.acknowledge(outageId, { by: 'ana', note: 'x'.repeat(1_001) })).rejects.toThrow(
      'acknowledge(options).note',
    );
    await expect(registry.acknowledge(outageId, { by: 'ana', extra: 1 } as never)).rejects.toThrow(
      AuditAlertConfigError,
    );
    expect(ledger.records.filter((record) => record.kind !== 'boot')).toEqual([]);
  });
});

describe('AuditMonitorRegistry.annotate()', () => {
  it('records the cause and ticket of an open or ended outage in the ledger, and refuses bad input', async () => {
    const booted = await bootResponseApp({ thresholdMs: 0 });
    apps.push(booted);
    const { monitor, registry, ledger } = booted;
    monitor.recordFailure(new Error('refused'));
    const outageId = monitor.getStatus().outageId!;
    await registry.annotate(outageId, { by: 'ana', ticket: 'OPS-42' });
    monitor.recordSuccess();
    expect(monitor.getStatus().state).toBe('healthy');
    const annotation = await registry.annotate(outageId, { by: 'ana', cause: 'the disk of db-1 filled up' });
    expect(annotation).toMatchObject({
      outageId,
      monitor: 'default',
      cause: 'the disk of db-1 filled up',
      ticket: null,
    });
    expect(ledger.of('annotated')).toEqual([
      { kind: 'annotated', outageId, monitor: 'default', by: 'ana', cause: null, ticket: 'OPS-42', source: 'registry' },
      {
        kind: 'annotated',
        outageId,
        monitor: 'default',
        by: 'ana',
        cause: 'the disk of db-1 filled up',
        ticket: null,
        source: 'registry',
      },
    ]);
    await expect(registry.annotate(outageId, { by: 'ana' })).rejects.toThrow('annotate(options).cause');
    await expect(registry.annotate(outageId, { by: ' ', cause: 'x' })).rejects.toThrow('annotate(options).by');
    await expect(registry.annotate(outageId, { by: 'ana', ticket: 'x'.repeat(501) })).rejects.toThrow(
      'annotate(options).ticket',
    );
    await expect(registry.annotate('unknown-outage', { by: 'ana', cause: 'x' })).rejects.toThrow(
      AuditOutageResponseError,
    );
    expect(ledger.of('annotated')).toHaveLength(2);
  });
});

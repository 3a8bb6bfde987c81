import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventKeyOf } from '../../src/events/audit-alert-event-kinds.js';
import { AuditAlertHook, type AuditAlertEvent, AuditMonitorRegistry, type OnAuditAlert } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps, settle, waitForTimers } from './support/channel-app.js';
import { waitFor } from './support/http-receiver.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const HEADLINE = '<!channel> Audit trail of billing-api & co is down ';

type Body = Record<string, unknown>;

describe('channel routing', () => {
  it('sends each monitor only to the channels routed to it', async () => {
    const [ordersTeam, ledgerTeam, everyone] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
    const { app, clock } = await apps.boot({
      thresholdMs: 0,
      monitors: [{ name: 'orders' }, { name: 'ledger' }],
      channels: [
        { type: 'webhook', url: ordersTeam.url(), monitors: ['orders'] },
        { type: 'webhook', url: ledgerTeam.url(), monitors: ['ledger'] },
        { type: 'webhook', url: everyone.url() },
      ],
    });
    const registry = app.get(AuditMonitorRegistry);
    registry.get('orders').recordFailure('orders down');
    await everyone.waitForRequests(1);
    await ordersTeam.waitForRequests(1);
    clock.advance(1_000);
    registry.get('ledger').recordFailure('ledger down');
    registry.get('orders').recordSuccess();
    await everyone.waitForRequests(3);
    await ledgerTeam.waitForRequests(1);
    await ordersTeam.waitForRequests(2);
    await settle();

    const seen = (bodies: unknown[]): string[] => (bodies as Body[]).map((body) => `${body.monitor} ${body.type}`);
    expect(seen(ordersTeam.bodies())).toEqual(['orders audit.storage.unreachable', 'orders audit.storage.recovered']);
    expect(seen(ledgerTeam.bodies())).toEqual(['ledger audit.storage.unreachable']);
    expect(seen(everyone.bodies()).sort()).toEqual(
      ['ledger audit.storage.unreachable', 'orders audit.storage.recovered', 'orders audit.storage.unreachable'].sort(),
    );
  });

  it('escalates with fromOccurrence: Slack from the first alert, PagerDuty from the second, each recovery only where an alert went', async () => {
    const [slack, pagerduty] = [await apps.receiver(), await apps.receiver()];
    const { monitor, clock, logger } = await apps.boot({
      thresholdMs: 10_000,
      cooldownMs: 60_000,
      channels: [
        { type: 'slack', url: slack.url() },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(), fromOccurrence: 2 },
      ],
    });

    // A short outage: one alert, then recovered. PagerDuty hears of neither.
    monitor.recordFailure('down');
    clock.advance(10_000);
    await slack.waitForRequests(1);
    monitor.recordSuccess();
    await slack.waitForRequests(2);
    await settle();
    expect(pagerduty.requests).toHaveLength(0);

    // A long one: the repeat pages, and the recovery resolves the incident it opened.
    monitor.recordFailure('down again');
    clock.advance(10_000);
    await slack.waitForRequests(3);
    const outageId = monitor.getStatus().outageId!;
    clock.advance(60_000);
    monitor.recordFailure('still down');
    await slack.waitForRequests(4);
    await pagerduty.waitForRequests(1);
    monitor.recordSuccess();
    await slack.waitForRequests(5);
    await pagerduty.waitForRequests(2);
    await settle();

    expect((pagerduty.bodies() as Body[]).map((body) => [body.event_action, body.dedup_key])).toEqual([
      ['trigger', 'audit-storage:unknown_service:node:default'],
      ['resolve', 'audit-storage:unknown_service:node:default'],
    ]);
    expect((pagerduty.bodies()[0] as { payload: { custom_details: Body } }).payload.custom_details.occurrence).toBe(2);
    expect(slack.requests).toHaveLength(5);
    await waitFor(() => logger.of('log').filter((line) => line.startsWith('PagerDuty')).length === 2);
    expect(logger.of('log').filter((line) => line.startsWith('PagerDuty'))).toEqual([
      expect.stringContaining(
        `delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 2) in 1 attempt.`,
      ),
      expect.stringContaining(
        `delivered audit.storage.recovered (monitor "default", outage ${outageId}) in 1 attempt.`,
      ),
    ]);
  });
});

describe('delivery evidence', () => {
  @AuditAlertHook()
  @Injectable()
  class TicketHook implements OnAuditAlert {
    onAuditAlert(): void {}
  }

  @AuditAlertHook()
  @Injectable()
  class BrokenHook implements OnAuditAlert {
    onAuditAlert(): void {
      throw new Error('ticket system down');
    }
  }

  it('logs one line per recipient that got the alert, with the attempts it took, and none for a failure', async () => {
    const target = await apps.receiver();
    target.reply({ status: 503 });
    const { monitor, clock, logger } = await apps.boot(
      { thresholdMs: 0, channels: [{ type: 'webhook', url: target.url('/secret-path') }] },
      { providers: [TicketHook, BrokenHook] },
    );
    monitor.recordFailure('down');
    const outageId = monitor.getStatus().outageId!;
    await waitForTimers(clock);
    clock.advance(500);
    await target.waitForRequests(2);
    await waitFor(() => logger.of('log').length === 2, 'two deliveries logged');
    expect(logger.of('log').sort()).toEqual([
      `TicketHook delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
      `Webhook channel (http://127.0.0.1:${target.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 2 attempts.`,
    ]);
    expect(logger.of('error')).toEqual([
      'Hook BrokenHook failed on audit.storage.unreachable: Error: ticket system down',
    ]);
    expect(logger.text()).not.toContain('secret-path');
  });
});

describe('PagerDuty incidents no event ends', () => {
  it('resolves the incident of records rejected and of a spool that cannot write as soon as it triggers it', async () => {
    // Issue #20, item 12: both were triggered, and nothing ever resolved them.
    const pagerduty = await apps.receiver();
    const directory = await mkdtemp(join(tmpdir(), 'audit-pd-spool-'));
    try {
      const { monitor, clock } = await apps.boot({
        serviceName: 'billing-api',
        thresholdMs: 1_000,
        classify: (error) => ((error as Error).message.startsWith('refused') ? 'record' : 'storage'),
        spool: { directory, replay: () => undefined },
        channels: [{ type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url() }],
      });
      await waitFor(() => monitor.spool!.healthy, 'the spool to open');
      monitor.recordFailure(new Error('refused: check constraint'));
      clock.advance(1_000);
      monitor.recordFailure(new Error('refused: check constraint'));
      await pagerduty.waitForRequests(2);

      // The spool's directory goes away: the next record cannot be kept.
      await rm(directory, { recursive: true, force: true });
      await expect(
        monitor.track(Promise.reject(new Error('connect ECONNREFUSED')), { record: { n: 1 } }),
      ).rejects.toThrow('ECONNREFUSED');
      await pagerduty.waitForRequests(4);
      await settle();

      const pages = pagerduty.bodies() as { event_action: string; dedup_key: string; payload?: { class: string } }[];
      expect(pages.map((p) => [p.event_action, p.payload?.class])).toEqual([
        ['trigger', 'audit.records.rejected'],
        ['resolve', undefined],
        ['trigger', 'audit.spool.unwritable'],
        ['resolve', undefined],
      ]);
      expect(pages[1]!.dedup_key).toBe(pages[0]!.dedup_key);
      expect(pages[3]!.dedup_key).toBe(pages[2]!.dedup_key);
      expect(pages[0]!.dedup_key).not.toBe(pages[2]!.dedup_key);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('custom messages', () => {
  it('send what the body and summary functions make, escaped and cut to each receiver', async () => {
    const [webhook, slack, pagerduty] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
    const long = 'x'.repeat(2_000);
    const { monitor, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      channels: [
        {
          type: 'webhook',
          url: webhook.url(),
          body: (event: AuditAlertEvent) => ({ text: `${event.type} on ${event.serviceName}`, id: eventKeyOf(event) }),
        },
        {
          type: 'slack',
          url: slack.url(),
          summary: (event) => `<!channel> Audit trail of ${event.serviceName} & co is down ${long}`,
        },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(), summary: () => `P1: ${long}` },
      ],
    });
    monitor.recordFailure('down');
    const outageId = monitor.getStatus().outageId!;
    await Promise.all([webhook, slack, pagerduty].map((receiver) => receiver.waitForRequests(1)));

    expect(webhook.bodies()).toEqual([{ text: 'audit.storage.unreachable on billing-api', id: outageId }]);

    const message = slack.bodies()[0] as { text: string; blocks: { type: string; text?: { text: string } }[] };
    expect(message.text.startsWith('&lt;!channel&gt; Audit trail of billing-api &amp; co is down xxx')).toBe(true);
    expect(message.text).toHaveLength(1_000);
    expect(message.text.endsWith('x…')).toBe(true);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: `${HEADLINE}${'x'.repeat(149 - HEADLINE.length)}…`,
        emoji: true,
      },
    });
    expect(message.blocks[0]!.text!.text).toHaveLength(150);
    // The rest of the message is the built-in one: the facts are still there.
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'section', 'context']);

    const summary = (pagerduty.bodies()[0] as { payload: { summary: string } }).payload.summary;
    expect(summary).toHaveLength(1_024);
    expect(summary).toBe(`P1: ${'x'.repeat(1_019)}…`);
    expect(logger.of('warn')).toEqual([]);
  });

  it('await an async body function, and fall back when it rejects, resolves to nothing usable or never settles', async () => {
    // Issue #20, item 14: the promise itself was encoded, and `{}` was logged as delivered.
    const receivers = [await apps.receiver(), await apps.receiver(), await apps.receiver(), await apps.receiver()];
    const [resolves, rejects, unusable, hangs] = receivers;
    const { monitor, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      channels: [
        {
          type: 'webhook',
          url: resolves!.url(),
          body: async (event: AuditAlertEvent) => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            return { ticket: `INC-${event.type}`, service: event.serviceName };
          },
        },
        {
          type: 'webhook',
          url: rejects!.url(),
          body: () => Promise.reject(new Error('lookup failed: token=s3cret')),
        },
        { type: 'webhook', url: unusable!.url(), body: async () => undefined },
        { type: 'webhook', url: hangs!.url(), timeoutMs: 200, body: () => new Promise(() => undefined) },
      ],
    });
    monitor.recordFailure('down');
    await Promise.all(receivers.map((receiver) => receiver!.waitForRequests(1)));

    expect(resolves!.bodies()).toEqual([{ ticket: 'INC-audit.storage.unreachable', service: 'billing-api' }]);
    for (const receiver of [rejects, unusable, hangs]) {
      expect(receiver!.bodies()).toEqual([expect.objectContaining({ type: 'audit.storage.unreachable' })]);
    }
    const origin = (port: number): string => `http://127.0.0.1:${port}`;
    const failed = (port: number, reason: string): string =>
      `Webhook channel (${origin(port)}): its body function failed on audit.storage.unreachable (${reason}); the built-in message was sent instead.`;
    expect(logger.of('warn').sort()).toEqual(
      [
        failed(rejects!.port, 'it rejected with Error: lookup failed: token=[REDACTED]'),
        failed(unusable!.port, 'it resolved to undefined'),
        failed(hangs!.port, 'it did not settle within 200 ms'),
      ].sort(),
    );
    expect(logger.text()).not.toContain('s3cret');
  });

  it('fall back to the built-in message, and log why, when the function throws or returns nothing usable', async () => {
    const [webhook, slack, pagerduty] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
    const { monitor, logger } = await apps.boot({
      thresholdMs: 0,
      channels: [
        { type: 'webhook', url: webhook.url('/t0ken'), body: () => ({ huge: 10n }) },
        {
          type: 'slack',
          url: slack.url('/t0ken'),
          summary: () => {
            throw new Error('template broken: password=hunter2');
          },
        },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(), summary: () => '   ' },
      ],
    });
    monitor.recordFailure('down');
    await Promise.all([webhook, slack, pagerduty].map((receiver) => receiver.waitForRequests(1)));

    expect((webhook.bodies()[0] as Body).type).toBe('audit.storage.unreachable');
    expect((slack.bodies()[0] as { text: string }).text).toContain('Audit storage of unknown_service:node unreachable');
    expect((pagerduty.bodies()[0] as { payload: { summary: string } }).payload.summary).toContain(
      'Audit storage of unknown_service:node unreachable',
    );
    const origin = (port: number): string => `http://127.0.0.1:${port}`;
    expect(logger.of('warn').sort()).toEqual(
      [
        `Webhook channel (${origin(webhook.port)}): its body function failed on audit.storage.unreachable (it returned an object); the built-in message was sent instead.`,
        `Slack channel (${origin(slack.port)}): its summary function failed on audit.storage.unreachable (it threw Error: template broken: password=[REDACTED]); the built-in message was sent instead.`,
        `PagerDuty channel (${origin(pagerduty.port)}): its summary function failed on audit.storage.unreachable (it returned a string of 3 characters); the built-in message was sent instead.`,
      ].sort(),
    );
    expect(logger.text()).not.toMatch(/hunter2|t0ken|R0UTINGKEY/);
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { AuditAlertConfigError, AuditAlertHook, AuditMonitorRegistry, type OnAuditAlert } from '../../src/index.js';
import { adaptiveCardProblems } from '../channels/support/adaptive-card.js';
import { ChannelApps, settle } from '../channels/support/channel-app.js';
import { closedPort, waitFor } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const SECRET_PATH = '/services/T0SECRET/B0SECRET/x0secret';

@AuditAlertHook()
@Injectable()
class TicketHook implements OnAuditAlert {
  readonly events: unknown[] = [];
  onAuditAlert(event: unknown): void {
    this.events.push(event);
  }
}

@AuditAlertHook({ events: ['audit.storage.unreachable'] })
@Injectable()
class PagerOnlyHook implements OnAuditAlert {
  readonly events: unknown[] = [];
  onAuditAlert(event: unknown): void {
    this.events.push(event);
  }
}

type Body = Record<string, unknown>;

describe('sendTestAlert()', () => {
  it('sends a test through every channel type and subscribed hook, and reports each recipient: one refusing, one timing out', async () => {
    const [webhook, slack, teams, pagerduty, refusing, hanging] = await Promise.all(
      Array.from({ length: 6 }, () => apps.receiver()),
    );
    pagerduty.fallback = { status: 202 };
    refusing.fallback = { status: 403 };
    hanging.fallback = 'hang';
    const { app, monitor, logger } = await apps.boot(
      {
        serviceName: 'billing-api',
        channels: [
          // A channel's events never keep the test out: it proves the channel works.
          { type: 'webhook', url: webhook.url(), events: ['audit.storage.recovered'] },
          { type: 'slack', url: slack.url(SECRET_PATH) },
          { type: 'teams', url: teams.url('/workflows/x?sig=S1GSECRET') },
          { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url('/v2/enqueue') },
          { type: 'webhook', url: refusing.url() },
          { type: 'webhook', url: hanging.url(), timeoutMs: 50, retries: 0 },
        ],
      },
      { providers: [TicketHook, PagerOnlyHook] },
    );
    const before = monitor.getStatus();

    const results = await app.get(AuditMonitorRegistry).sendTestAlert();

    const origin = (port: number): string => `http://127.0.0.1:${port}`;
    expect([...results].sort((a, b) => a.recipient.localeCompare(b.recipient))).toEqual(
      [
        { recipient: 'TicketHook', delivered: true, attempts: 1 },
        { recipient: `Webhook channel (${origin(webhook.port)})`, delivered: true, attempts: 1 },
        { recipient: `Slack channel (${origin(slack.port)})`, delivered: true, attempts: 1 },
        { recipient: `Teams channel (${origin(teams.port)})`, delivered: true, attempts: 1 },
        // A trigger and its resolve.
        { recipient: `PagerDuty channel (${origin(pagerduty.port)})`, delivered: true, attempts: 2 },
        {
          recipient: `Webhook channel (${origin(refusing.port)})`,
          delivered: false,
          attempts: 1,
          error: 'AuditAlertChannelError: the receiver answered HTTP 403; not retried',
        },
        {
          recipient: `Webhook channel (${origin(hanging.port)})`,
          delivered: false,
          attempts: 1,
          error: 'AuditAlertChannelError: gave up after 1 attempt; the last failed with no response within 50 ms',
        },
      ].sort((a, b) => a.recipient.localeCompare(b.recipient)),
    );

    const event = webhook.bodies()[0] as Body;
    const testId = event.testId as string;
    expect(event).toEqual({
      type: 'audit.alert.test',
      testId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      monitor: 'default',
      serviceName: 'billing-api',
      sentAt: '2026-01-01T12:00:00.000Z',
    });
    expect(app.get(TicketHook).events).toEqual([{ ...event, sentAt: new Date('2026-01-01T12:00:00.000Z') }]);
    expect(app.get(PagerOnlyHook).events).toEqual([]);

    expect(slack.bodies()).toEqual([
      {
        text: ':test_tube: Test alert: audit storage alerts of billing-api reach this channel (monitor default). Nothing is wrong.',
        blocks: [
          {
            type: 'header',
            text: { type: 'plain_text', text: ':test_tube: Test alert, nothing is wrong', emoji: true },
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: 'This is a *test* of the audit storage alerts of *billing-api*, sent on request. No outage is open and nothing needs doing: a real alert would look like this one and come here.',
            },
          },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: '*Service*\nbilling-api' },
              { type: 'mrkdwn', text: '*Monitor*\ndefault' },
              {
                type: 'mrkdwn',
                text: '*Sent*\n<!date^1767268800^{date_short_pretty} {time_secs}|2026-01-01T12:00:00.000Z>',
              },
            ],
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `Test \`${testId}\`` }] },
        ],
      },
    ]);

    const [teamsCard] = teams.bodies();
    expect(adaptiveCardProblems(teamsCard)).toEqual([]);
    expect((teamsCard as { attachments: [{ content: { body: unknown[] } }] }).attachments[0].content.body).toEqual([
      {
        type: 'TextBlock',
        text: '🧪 Test alert, nothing is wrong',
        size: 'Large',
        weight: 'Bolder',
        color: 'Accent',
        wrap: true,
      },
      {
        type: 'TextBlock',
        text: 'This is a **test** of the audit storage alerts of **billing-api**, sent on request. No outage is open and nothing needs doing: a real alert would look like this one and come here.',
        wrap: true,
      },
      {
        type: 'FactSet',
        facts: [
          { title: 'Service', value: 'billing-api' },
          { title: 'Monitor', value: 'default' },
          { title: 'Sent', value: '{{DATE(2026-01-01T12:00:00Z, SHORT)}} {{TIME(2026-01-01T12:00:00Z)}}' },
          { title: 'Test', value: testId },
        ],
      },
    ]);

    const dedupKey = `audit-alert-test:billing-api:default:${testId}`;
    expect(pagerduty.bodies()).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: dedupKey,
        payload: {
          summary:
            'Test alert: audit storage alerts of billing-api reach PagerDuty (monitor default). Nothing is wrong; this incident is resolved at once.',
          source: 'billing-api',
          severity: 'info',
          timestamp: '2026-01-01T12:00:00.000Z',
          component: 'default',
          group: 'audit-storage',
          class: 'audit.alert.test',
          custom_details: event,
        },
      },
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: dedupKey },
    ]);

    // No outage was opened or touched.
    expect(monitor.getStatus()).toEqual(before);
    expect(monitor.getStatus().state).toBe('healthy');
    expect(logger.of('log')).toContainEqual(
      `TicketHook delivered audit.alert.test (monitor "default", test ${testId}) in 1 attempt.`,
    );
    expect(logger.text()).not.toMatch(/T0SECRET|S1GSECRET|R0UTINGKEY|\/v2\/enqueue|workflows/);
    expect(JSON.stringify(results)).not.toMatch(/T0SECRET|S1GSECRET|R0UTINGKEY/);
  });

  it('narrows to one monitor (by the routing of each recipient) and to channel types (without hooks)', async () => {
    const [orders, ledger, pager] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
    const { app } = await apps.boot(
      {
        monitors: [{ name: 'orders' }, { name: 'ledger' }],
        channels: [
          { type: 'slack', url: orders.url(), monitors: ['orders'] },
          { type: 'slack', url: ledger.url(), monitors: ['ledger'] },
          { type: 'pagerduty', routingKey: ROUTING_KEY, url: pager.url(), fromOccurrence: 3 },
        ],
      },
      { providers: [TicketHook] },
    );
    const registry = app.get(AuditMonitorRegistry);

    const forLedger = await registry.sendTestAlert({ monitor: 'ledger' });
    expect(forLedger.map((result) => result.recipient).sort()).toEqual(
      [
        'TicketHook',
        `PagerDuty channel (http://127.0.0.1:${pager.port})`,
        `Slack channel (http://127.0.0.1:${ledger.port})`,
      ].sort(),
    );
    expect(orders.requests).toHaveLength(0);
    expect((ledger.bodies()[0] as { text: string }).text).toContain('(monitor ledger)');

    const pagerOnly = await registry.sendTestAlert({ channels: ['pagerduty'] });
    expect(pagerOnly).toEqual([
      { recipient: `PagerDuty channel (http://127.0.0.1:${pager.port})`, delivered: true, attempts: 2 },
    ]);
    expect(app.get(TicketHook).events).toHaveLength(1);
    expect(pager.requests).toHaveLength(4);

    const everyone = await registry.sendTestAlert();
    expect(everyone).toHaveLength(4);
  });

  it('leaves an open outage as it is: its repeat and its recovery still reach its incident', async () => {
    const pagerduty = await apps.receiver();
    const { app, monitor, clock } = await apps.boot({
      thresholdMs: 0,
      channels: [{ type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url() }],
    });
    monitor.recordFailure('down');
    await pagerduty.waitForRequests(1);
    const during = monitor.getStatus();
    await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(monitor.getStatus()).toEqual(during);
    clock.advance(1_000);
    monitor.recordSuccess();
    await pagerduty.waitForRequests(4);
    const keys = (pagerduty.bodies() as Body[]).map(
      (body) => `${body.event_action} ${String(body.dedup_key).split(':')[0]}`,
    );
    expect(keys).toEqual([
      'trigger audit-storage',
      'trigger audit-alert-test',
      'resolve audit-alert-test',
      'resolve audit-storage',
    ]);
  });

  it('resolves to an empty list when nobody listens, and refuses unknown monitors and channel types', async () => {
    const { app } = await apps.boot({ monitors: [{ name: 'orders' }] });
    const registry = app.get(AuditMonitorRegistry);
    await expect(registry.sendTestAlert()).resolves.toEqual([]);
    await expect(async () => registry.sendTestAlert({ monitor: 'ordres' })).rejects.toThrow(
      new AuditAlertConfigError(
        `Invalid audit alert option "sendTestAlert(options).monitor": received 'ordres'; expected one of the monitors: orders.`,
        'sendTestAlert(options).monitor',
      ),
    );
    await expect(async () => registry.sendTestAlert({ channels: ['carrier-pigeon' as never] })).rejects.toThrow(
      /"sendTestAlert\(options\).channels": received \[ 'carrier-pigeon' \]; expected an array of channel types: webhook, slack, teams, pagerduty, email, alertmanager/,
    );
    await expect(async () => registry.sendTestAlert({ monitr: 'orders' } as never)).rejects.toThrow(
      /Unknown audit alert option "sendTestAlert\(options\).monitr"/,
    );
  });

  it('answers at shutdown for a test still retrying, and leaves the monitor healthy', async () => {
    const refused = await closedPort();
    const booted = await apps.boot({
      channels: [{ type: 'webhook', url: `http://127.0.0.1:${refused}/`, backoffMs: 60_000 }],
    });
    apps.release(booted);
    const sent = booted.app.get(AuditMonitorRegistry).sendTestAlert();
    await waitFor(() => booted.clock.pendingTimers >= 1, 'the first backoff');
    const closing = booted.app.close();
    await waitFor(() => booted.clock.pendingTimers >= 2, 'the shutdown drain');
    booted.clock.advance(5_000);
    await closing;
    await settle();
    expect(await sent).toEqual([
      {
        recipient: `Webhook channel (http://127.0.0.1:${refused})`,
        delivered: false,
        attempts: 0,
        error: 'no answer before the application shut down (it waited shutdownTimeoutMs, 5000 ms)',
      },
    ]);
    expect(booted.monitor.getStatus().state).toBe('healthy');
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { USER_AGENT } from '../../src/channels/http-delivery.js';
import type { AuditAlertModuleOptions } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { type BootedApp, ChannelApps, settle, waitForTimers } from './support/channel-app.js';
import { closedPort, type HttpReceiver, waitFor } from './support/http-receiver.js';

const SERVICE = 'billing-api';
const WEBHOOK_PATH = '/hooks/T0SECRET?token=q0secret';
const SLACK_PATH = '/services/T0SECRET/B0SECRET/x0secretx0secret';
const PAGERDUTY_PATH = '/v2/enqueue';
const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const BEARER = 'Bearer h0secret-token';
/** Every text that must never reach a log line. */
const SECRETS = /T0SECRET|B0SECRET|x0secret|q0secret|h0secret|R0UTINGKEY|\/hooks|\/services|\/v2\/enqueue/;

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());
const boot = (options: AuditAlertModuleOptions): Promise<BootedApp> => apps.boot(options);
const receiver = (): Promise<HttpReceiver> => apps.receiver();

describe('built-in channels in a Nest application', () => {
  it('send the exact bodies and headers of each channel for an alert and its recovery', async () => {
    const [webhook, slack, pagerduty] = [await receiver(), await receiver(), await receiver()];
    pagerduty.fallback = { status: 202 };
    const { monitor, clock, logger } = await boot({
      serviceName: SERVICE,
      thresholdMs: 125_000,
      channels: [
        { type: 'webhook', url: webhook.url(WEBHOOK_PATH), headers: { authorization: BEARER, 'X-Tenant': 'acme' } },
        { type: 'slack', url: slack.url(SLACK_PATH) },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(PAGERDUTY_PATH) },
      ],
    });

    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    clock.advance(400);
    monitor.recordFailure(new Error('connect ETIMEDOUT 10.0.0.5:5432'));
    clock.advance(124_600);
    const outageId = monitor.getStatus().outageId!;
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(1)));

    const unreachable = {
      type: 'audit.storage.unreachable',
      outageId,
      monitor: 'default',
      serviceName: SERVICE,
      firstFailureAt: '2026-01-01T12:00:00.000Z',
      consecutiveFailures: 2,
      unreachableDurationMs: 125_000,
      lastError: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
      occurrence: 1,
      probeFailures: 0,
    };
    expect(webhook.bodies()).toEqual([unreachable]);
    expect(slack.bodies()).toEqual([
      {
        text: ':rotating_light: Audit storage of billing-api unreachable for 2m 5s (monitor default): Error: connect ETIMEDOUT 10.0.0.5:5432',
        blocks: [
          {
            type: 'header',
            text: { type: 'plain_text', text: ':rotating_light: Audit storage unreachable', emoji: true },
          },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: '*billing-api* has been unable to write its audit trail for *2m 5s*: 2 failed writes since the outage began.',
            },
          },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: '*Service*\nbilling-api' },
              { type: 'mrkdwn', text: '*Monitor*\ndefault' },
              {
                type: 'mrkdwn',
                text: '*Failing since*\n<!date^1767268800^{date_short_pretty} {time_secs}|2026-01-01T12:00:00.000Z>',
              },
              { type: 'mrkdwn', text: '*Alert*\n1st alert' },
            ],
          },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: '*Last error*\n```Error: connect ETIMEDOUT 10.0.0.5:5432```' },
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `Outage \`${outageId}\`` }] },
        ],
      },
    ]);
    // Nothing keeps the outage across a restart (no state, no cluster): the incident is keyed by monitor.
    const dedupKey = 'audit-storage:billing-api:default';
    expect(pagerduty.bodies()).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: dedupKey,
        payload: {
          summary:
            'Audit storage of billing-api unreachable for 2m 5s (monitor default): Error: connect ETIMEDOUT 10.0.0.5:5432',
          source: SERVICE,
          severity: 'critical',
          timestamp: '2026-01-01T12:02:05.000Z',
          component: 'default',
          group: 'audit-storage',
          class: 'audit.storage.unreachable',
          custom_details: unreachable,
        },
      },
    ]);

    clock.advance(3_598_000);
    monitor.recordSuccess();
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(2)));

    const recovered = {
      type: 'audit.storage.recovered',
      outageId,
      monitor: 'default',
      serviceName: SERVICE,
      outageStartedAt: '2026-01-01T12:00:00.000Z',
      recoveredAt: '2026-01-01T13:02:03.000Z',
      outageDurationMs: 3_723_000,
      // The webhook's body is the event: the new fields (no spool here, so nothing is known of the records)…
      writesFailed: 2,
      recordsSpooled: null,
      recordsLost: null,
      // …and the deprecated alias, still sent.
      eventsAffected: 2,
      unreachableAlerts: 1,
      degradedAlerts: 0,
    };
    expect(webhook.bodies()[1]).toEqual(recovered);
    expect(slack.bodies()[1]).toEqual({
      text: ':white_check_mark: Audit storage of billing-api recovered after 1h 2m (monitor default); 2 audit writes failed during the outage.',
      blocks: [
        {
          type: 'header',
          text: { type: 'plain_text', text: ':white_check_mark: Audit storage recovered', emoji: true },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*billing-api* is writing its audit trail again. The outage lasted *1h 2m*; *2 audit writes* failed during it.',
          },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Service*\nbilling-api' },
            { type: 'mrkdwn', text: '*Monitor*\ndefault' },
            {
              type: 'mrkdwn',
              text: '*Outage started*\n<!date^1767268800^{date_short_pretty} {time_secs}|2026-01-01T12:00:00.000Z>',
            },
            {
              type: 'mrkdwn',
              text: '*Recovered*\n<!date^1767272523^{date_short_pretty} {time_secs}|2026-01-01T13:02:03.000Z>',
            },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Outage \`${outageId}\`` }] },
      ],
    });
    expect(pagerduty.bodies()[1]).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: dedupKey });

    for (const [target, path] of [
      [webhook, WEBHOOK_PATH],
      [slack, SLACK_PATH],
      [pagerduty, PAGERDUTY_PATH],
    ] as const) {
      for (const request of target.requests) {
        expect(request.method).toBe('POST');
        expect(request.path).toBe(path);
        expect(request.headers['content-type']).toBe('application/json');
        expect(request.headers['user-agent']).toBe(USER_AGENT);
      }
    }
    expect(USER_AGENT).toMatch(/^nestjs-audit-alert\/\d+\.\d+\.\d+/);
    for (const request of webhook.requests) {
      expect(request.headers.authorization).toBe(BEARER);
      expect(request.headers['x-tenant']).toBe('acme');
    }
    expect(slack.requests[0]!.headers.authorization).toBeUndefined();
    // Evidence that each alert went out: one line per recipient and event, at log level.
    const origin = (target: HttpReceiver): string => `http://127.0.0.1:${target.port}`;
    const deliveries = (): string[] => logger.of('log').filter((line) => line.includes(' delivered '));
    await waitFor(() => deliveries().length === 6, 'six deliveries logged');
    const delivered = deliveries();
    expect(delivered.sort()).toEqual(
      [
        `Webhook channel (${origin(webhook)}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
        `Slack channel (${origin(slack)}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
        `PagerDuty channel (${origin(pagerduty)}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
        `Webhook channel (${origin(webhook)}) delivered audit.storage.recovered (monitor "default", outage ${outageId}) in 1 attempt.`,
        `Slack channel (${origin(slack)}) delivered audit.storage.recovered (monitor "default", outage ${outageId}) in 1 attempt.`,
        `PagerDuty channel (${origin(pagerduty)}) delivered audit.storage.recovered (monitor "default", outage ${outageId}) in 1 attempt.`,
      ].sort(),
    );
    expect(logger.text()).not.toMatch(SECRETS);
    expect(logger.at('warn')).toEqual([]);
    expect(logger.at('error')).toEqual([]);
  });

  it('render a degraded outage, its escalation and its recovery, one PagerDuty incident throughout', async () => {
    const [webhook, slack, pagerduty] = [await receiver(), await receiver(), await receiver()];
    pagerduty.fallback = { status: 202 };
    const { monitor, clock } = await boot({
      serviceName: SERVICE,
      thresholdMs: 2_000,
      cooldownMs: 600_000,
      channels: [
        { type: 'webhook', url: webhook.url() },
        { type: 'slack', url: slack.url() },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(PAGERDUTY_PATH) },
      ],
    });
    const write = (fails: boolean) => {
      if (fails) monitor.recordFailure(new Error('replica 2 refused the connection'));
      else monitor.recordSuccess();
      clock.advance(100);
    };
    for (let i = 0; i < 30; i += 1) write(i % 2 === 0); // half of the writes fail
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(1)));
    for (let i = 0; i < 25; i += 1) write(true); // then every write
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(2)));
    for (let i = 0; i < 50; i += 1) write(false); // and none
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(3)));
    await settle();

    const events = webhook.bodies() as { type: string; outageId: string; failureRatio?: number }[];
    expect(events.map((e) => e.type)).toEqual([
      'audit.storage.degraded',
      'audit.storage.unreachable',
      'audit.storage.recovered',
    ]);
    expect(new Set(events.map((e) => e.outageId)).size).toBe(1);
    // The window holds the last 2 s to a tenth: 19 writes when the 10th failure tips the ratio.
    expect(events[0]).toMatchObject({
      windowMs: 2_000,
      failureRatio: 10 / 19,
      writes: 19,
      failures: 10,
      occurrence: 1,
    });

    const texts = (slack.bodies() as { text: string }[]).map((body) => body.text);
    expect(texts[0]).toBe(
      ':warning: Audit storage of billing-api degraded: 52.6 % of writes failing over 2s (monitor default): Error: replica 2 refused the connection',
    );
    expect(texts[1]).toMatch(/^:rotating_light: Audit storage of billing-api unreachable/);
    expect(texts[2]).toMatch(/^:white_check_mark: Audit storage of billing-api recovered/);

    const pages = pagerduty.bodies() as { event_action: string; dedup_key: string; payload?: { severity: string } }[];
    expect(pages.map((p) => [p.event_action, p.payload?.severity])).toEqual([
      ['trigger', 'warning'],
      ['trigger', 'critical'],
      ['resolve', undefined],
    ]);
    expect(new Set(pages.map((p) => p.dedup_key))).toEqual(new Set(['audit-storage:billing-api:default']));
  });

  it('send only the event types a channel asked for', async () => {
    const [onlyAlerts, onlyRecoveries] = [await receiver(), await receiver()];
    const { monitor, clock } = await boot({
      thresholdMs: 0,
      channels: [
        { type: 'webhook', url: onlyAlerts.url(), events: ['audit.storage.unreachable'] },
        { type: 'slack', url: onlyRecoveries.url(), events: ['audit.storage.recovered'] },
      ],
    });
    monitor.recordFailure('down');
    await onlyAlerts.waitForRequests(1);
    clock.advance(1_000);
    monitor.recordSuccess();
    await onlyRecoveries.waitForRequests(1);
    await settle();
    expect((onlyAlerts.bodies() as { type: string }[]).map((body) => body.type)).toEqual(['audit.storage.unreachable']);
    expect((onlyRecoveries.bodies() as { text: string }[]).map((body) => body.text)).toEqual([
      expect.stringContaining('recovered after 1s'),
    ]);
  });

  it('keep retrying past hookTimeoutMs and deliver once the receiver is back', async () => {
    const target = await receiver();
    target.reply({ status: 503 }, { status: 500 });
    const { monitor, clock, logger } = await boot({
      thresholdMs: 0,
      hookTimeoutMs: 100,
      channels: [{ type: 'webhook', url: target.url(WEBHOOK_PATH), backoffMs: 1_000 }],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    clock.advance(500);
    await target.waitForRequests(2);
    await waitForTimers(clock);
    clock.advance(1_000);
    await target.waitForRequests(3);
    await waitFor(() =>
      logger
        .at('log')
        .some((line) => line.includes('delivered audit.storage.unreachable') && line.includes('in 3 attempts')),
    );
    expect(logger.text()).not.toContain('abandoned');
    expect(logger.at('error')).toEqual([]);
    expect(logger.at('warn')).toEqual([
      `Webhook channel (http://127.0.0.1:${target.port}): attempt 1 to send audit.storage.unreachable failed (HTTP 503); retrying in 500 ms. AuditAlert`,
      `Webhook channel (http://127.0.0.1:${target.port}): attempt 2 to send audit.storage.unreachable failed (HTTP 500); retrying in 1000 ms. AuditAlert`,
    ]);
  });

  it('never let a PagerDuty resolve overtake the trigger it closes', async () => {
    const pagerduty = await receiver();
    pagerduty.reply({ status: 503 });
    pagerduty.fallback = { status: 202 };
    const { monitor, clock } = await boot({
      thresholdMs: 0,
      channels: [{ type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(PAGERDUTY_PATH) }],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    monitor.recordSuccess();
    await settle();
    expect(pagerduty.requests).toHaveLength(1);
    clock.advance(500);
    await pagerduty.waitForRequests(3);
    expect((pagerduty.bodies() as { event_action: string }[]).map((body) => body.event_action)).toEqual([
      'trigger',
      'trigger',
      'resolve',
    ]);
  });

  it('do not hold up one another', async () => {
    const [down, up] = [await receiver(), await receiver()];
    down.fallback = { status: 503 };
    const { monitor, clock } = await boot({
      thresholdMs: 0,
      channels: [
        { type: 'webhook', url: down.url() },
        { type: 'slack', url: up.url() },
      ],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    monitor.recordSuccess();
    await up.waitForRequests(2);
    expect(down.requests).toHaveLength(1);
  });

  it('log failures by channel kind and origin, never a path, a header value or a routing key', async () => {
    const [webhook, pagerduty] = [await receiver(), await receiver()];
    webhook.fallback = { status: 401 };
    pagerduty.fallback = { status: 500 };
    const refused = await closedPort();
    const { monitor, clock, logger } = await boot({
      thresholdMs: 0,
      channels: [
        { type: 'webhook', url: webhook.url(WEBHOOK_PATH), headers: { authorization: BEARER } },
        { type: 'slack', url: `http://127.0.0.1:${refused}${SLACK_PATH}`, retries: 0 },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url(PAGERDUTY_PATH), retries: 1 },
      ],
    });
    monitor.recordFailure(new Error('disk full'));
    await waitForTimers(clock);
    clock.advance(500);
    await waitFor(() => logger.at('error').length === 3, 'three failures logged');
    const type = 'audit.storage.unreachable';
    expect(logger.at('error').sort()).toEqual(
      [
        `Hook Webhook channel (http://127.0.0.1:${webhook.port}) failed on ${type}: AuditAlertChannelError: the receiver answered HTTP 401; not retried AuditAlert`,
        `Hook Slack channel (http://127.0.0.1:${refused}) failed on ${type}: AuditAlertChannelError: gave up after 1 attempt; the last failed with network error ECONNREFUSED AuditAlert`,
        `Hook PagerDuty channel (http://127.0.0.1:${pagerduty.port}) failed on ${type}: AuditAlertChannelError: gave up after 2 attempts; the last failed with HTTP 500 AuditAlert`,
      ].sort(),
    );
    expect(logger.text()).not.toMatch(SECRETS);
  });
});

describe('built-in channels at shutdown', () => {
  it('are waited for while they retry, up to shutdownTimeoutMs', async () => {
    const target = await receiver();
    target.reply({ status: 503 });
    const booted = await boot({
      thresholdMs: 0,
      shutdownTimeoutMs: 5_000,
      channels: [{ type: 'webhook', url: target.url() }],
    });
    const { app, monitor, clock, logger } = booted;
    monitor.recordFailure('down');
    await waitForTimers(clock);
    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    apps.release(booted);
    await waitForTimers(clock, 2); // the backoff and the shutdown drain
    expect(closed).toBe(false);
    clock.advance(500);
    await closing;
    expect(target.requests).toHaveLength(2);
    expect(logger.text()).not.toContain('still in flight');
    expect(logger.at('error')).toEqual([]);
  });

  it('stop retrying once the application has shut down', async () => {
    const target = await receiver();
    target.fallback = { status: 503 };
    const booted = await boot({
      thresholdMs: 0,
      shutdownTimeoutMs: 1_000,
      channels: [{ type: 'webhook', url: target.url(WEBHOOK_PATH), backoffMs: 60_000 }],
    });
    const { app, monitor, clock, logger } = booted;
    monitor.recordFailure('down');
    await waitForTimers(clock);
    const closing = app.close();
    apps.release(booted);
    await waitForTimers(clock, 2);
    clock.advance(1_000);
    await closing;
    await waitFor(() => logger.at('error').length === 1, 'the stopped delivery logged');
    expect(logger.at('error')).toEqual([
      `Hook Webhook channel (http://127.0.0.1:${target.port}) failed on audit.storage.unreachable: ` +
        'AuditAlertChannelError: stopped by the application shutdown after 1 attempt AuditAlert',
    ]);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(600_000);
    await settle();
    expect(target.requests).toHaveLength(1);
  });
});

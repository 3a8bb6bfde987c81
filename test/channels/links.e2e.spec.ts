import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { AuditAlertConfigError, AuditMonitorRegistry } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { adaptiveCardProblems } from './support/adaptive-card.js';
import { ChannelApps } from './support/channel-app.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const RUNBOOK = { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit-storage' };
const DASHBOARD = { text: 'Dashboard', url: 'https://grafana.example.com/d/audit?orgId=1' };
const ORDERS_RUNBOOK = { text: 'Orders runbook', url: 'https://wiki.example.com/runbooks/orders-audit' };
const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';

type Body = Record<string, unknown>;

function rejection(options: Record<string, unknown>): AuditAlertConfigError {
  try {
    resolveAuditAlertOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    return error as AuditAlertConfigError;
  }
  throw new Error('accepted');
}

describe('links', () => {
  it('are inherited from the top level, and replaced by a monitor of its own', () => {
    const { monitors } = resolveAuditAlertOptions({
      links: [RUNBOOK, DASHBOARD],
      monitors: [{ name: 'orders', links: [ORDERS_RUNBOOK] }, { name: 'ledger' }, { name: 'cache', links: [] }],
    });
    expect(monitors.map((monitor) => [monitor.name, monitor.links])).toEqual([
      ['orders', [ORDERS_RUNBOOK]],
      ['ledger', [RUNBOOK, DASHBOARD]],
      ['cache', []],
    ]);
    expect(resolveAuditAlertOptions({}).monitors[0]!.links).toEqual([]);
  });

  it('are checked at boot: absolute http(s) URLs without credentials, a short text, five at most', () => {
    const credentials = rejection({
      monitors: [{ name: 'orders', links: [{ text: 'Runbook', url: 'https://bob:hunter2@wiki.example.com/' }] }],
    });
    expect(credentials.message).toContain('"monitors[0].links[0].url"');
    expect(credentials.message).toContain('user information');
    expect(credentials.message).not.toContain('hunter2');
    expect(rejection({ links: [{ text: 'Runbook', url: '/runbooks/audit' }] }).message).toContain('"links[0].url"');
    expect(rejection({ links: [{ text: 'Runbook', url: 'javascript:alert(1)' }] }).message).toContain(
      'a URL with the scheme "javascript:"',
    );
    expect(rejection({ links: [{ text: '', url: RUNBOOK.url }] }).message).toContain('"links[0].text"');
    expect(rejection({ links: [{ text: 'a\nb', url: RUNBOOK.url }] }).message).toContain('on one line');
    expect(rejection({ links: [{ text: 'x'.repeat(76), url: RUNBOOK.url }] }).message).toContain('75 characters');
    expect(rejection({ links: [{ ...RUNBOOK, target: '_blank' }] }).message).toContain('links[0].target');
    const long = rejection({ links: [{ text: 'Runbook', url: `https://wiki.example.com/${'a'.repeat(2_000)}` }] });
    expect(long.message).toContain('"links[0].url"');
    expect(long.message).toContain('at most 2000 characters');
    const many = rejection({ links: Array.from({ length: 6 }, () => RUNBOOK) });
    expect(many.message).toContain('"links"');
    expect(many.message).toContain('at most 5');
    const notAList = rejection({ links: RUNBOOK });
    expect(notAList.message).not.toContain('wiki.example.com');
  });

  it("reach every channel with the alert of the event's monitor: webhook field, Slack and Teams buttons, PagerDuty links", async () => {
    const [webhook, slack, teams, pagerduty] = [
      await apps.receiver(),
      await apps.receiver(),
      await apps.receiver(),
      await apps.receiver(),
    ];
    const { app } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      links: [RUNBOOK, DASHBOARD],
      monitors: [{ name: 'orders', links: [ORDERS_RUNBOOK] }, { name: 'ledger' }],
      channels: [
        { type: 'webhook', url: webhook.url() },
        { type: 'slack', url: slack.url() },
        { type: 'teams', url: teams.url() },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url() },
      ],
    });
    const registry = app.get(AuditMonitorRegistry);
    registry.get('ledger').recordFailure('ledger down');
    for (const target of [webhook, slack, teams, pagerduty]) await target.waitForRequests(1);
    registry.get('ledger').recordSuccess();
    for (const target of [webhook, slack, teams, pagerduty]) await target.waitForRequests(2);
    registry.get('orders').recordFailure('orders down');
    for (const target of [webhook, slack, teams, pagerduty]) await target.waitForRequests(3);

    // Webhook: the event, plus the links of its monitor.
    const [ledgerAlert, ledgerRecovery, ordersAlert] = webhook.bodies() as Body[];
    expect(ledgerAlert).toMatchObject({
      type: 'audit.storage.unreachable',
      monitor: 'ledger',
      links: [RUNBOOK, DASHBOARD],
    });
    expect(ledgerRecovery).toMatchObject({ type: 'audit.storage.recovered', links: [RUNBOOK, DASHBOARD] });
    expect(ordersAlert).toMatchObject({ monitor: 'orders', links: [ORDERS_RUNBOOK] });

    // Slack: an actions block of link buttons, last.
    const slackBlocks = (slack.bodies() as { blocks: Body[] }[]).map((body) => body.blocks.at(-1));
    expect(slackBlocks[0]).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Runbook', emoji: true },
          url: RUNBOOK.url,
          action_id: 'audit-alert-link-0',
        },
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Dashboard', emoji: true },
          url: DASHBOARD.url,
          action_id: 'audit-alert-link-1',
        },
      ],
    });
    expect(slackBlocks[2]).toMatchObject({ type: 'actions', elements: [{ url: ORDERS_RUNBOOK.url }] });

    // Teams: Action.OpenUrl buttons, valid card.
    for (const body of teams.bodies()) expect(adaptiveCardProblems(body)).toEqual([]);
    const actions = (teams.bodies() as { attachments: [{ content: { actions?: unknown } }] }[]).map(
      (body) => body.attachments[0].content.actions,
    );
    expect(actions[0]).toEqual([
      { type: 'Action.OpenUrl', title: 'Runbook', url: RUNBOOK.url },
      { type: 'Action.OpenUrl', title: 'Dashboard', url: DASHBOARD.url },
    ]);
    expect(actions[2]).toEqual([{ type: 'Action.OpenUrl', title: 'Orders runbook', url: ORDERS_RUNBOOK.url }]);

    // PagerDuty: the Events API's links on a trigger, none on a resolve.
    const [trigger, resolve, ordersTrigger] = pagerduty.bodies() as Body[];
    expect(trigger!.links).toEqual([
      { href: RUNBOOK.url, text: 'Runbook' },
      { href: DASHBOARD.url, text: 'Dashboard' },
    ]);
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: expect.any(String) });
    expect(ordersTrigger!.links).toEqual([{ href: ORDERS_RUNBOOK.url, text: 'Orders runbook' }]);
  });

  it('leave every body as it was for a monitor without links', async () => {
    const [webhook, teams] = [await apps.receiver(), await apps.receiver()];
    const { monitor } = await apps.boot({
      thresholdMs: 0,
      channels: [
        { type: 'webhook', url: webhook.url() },
        { type: 'teams', url: teams.url() },
      ],
    });
    monitor.recordFailure('down');
    await webhook.waitForRequests(1);
    await teams.waitForRequests(1);
    expect(webhook.bodies()[0]).not.toHaveProperty('links');
    expect((teams.bodies()[0] as { attachments: [{ content: Body }] }).attachments[0].content).not.toHaveProperty(
      'actions',
    );
  });
});

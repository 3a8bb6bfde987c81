import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { AuditAlertConfigError, type AuditAlertModuleOptions } from '../../src/index.js';
import { AlertmanagerServer } from '../support/alertmanager-server.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps, closeApp, settle } from './support/channel-app.js';
import { HttpReceiver } from './support/http-receiver.js';

const SERVICE = 'billing-api';
const PASSWORD = 'Am-PASSW0RD-secret';
const BEARER = 'Am-B3ARER-secret';

expectNoUnhandledRejections();

/** A notification of Alertmanager's webhook receiver. */
interface Notification {
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly {
    readonly status: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly startsAt: string;
    readonly endsAt: string;
    readonly generatorURL: string;
  }[];
}

/** An alert as the channel POSTs it. */
interface PostedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const apps = new ChannelApps();
afterEach(() => apps.dispose());

describe('the Alertmanager channel against the real prometheus-alertmanager', () => {
  const alertmanager = new AlertmanagerServer();
  let webhook: HttpReceiver;
  const notifications = (): Notification[] => webhook.bodies() as Notification[];

  beforeAll(async () => {
    // Its own, not the one ChannelApps closes after each test.
    webhook = await HttpReceiver.start();
    // Short, to see Alertmanager resolve an alert nobody sends again within a few seconds.
    await alertmanager.start({ webhookUrl: webhook.url('/alertmanager'), resolveTimeout: '3s' });
  }, 30_000);
  afterAll(async () => {
    await alertmanager.dispose();
    await webhook.close();
  });

  it('fires, then resolves at the recovery: the webhook receiver is told both', async () => {
    webhook.requests.length = 0;
    const { monitor } = await apps.boot({
      serviceName: SERVICE,
      thresholdMs: 0,
      monitors: [{ name: 'orders' }],
      channels: [
        {
          type: 'alertmanager',
          url: alertmanager.url,
          auth: { username: 'audit', password: PASSWORD },
          generatorUrl: 'https://grafana.example.com/d/audit',
        },
      ],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    const outageId = monitor.getStatus().outageId!;
    await eventually(() => notifications().some((n) => n.status === 'firing'), 'the firing notification');
    monitor.recordSuccess();
    await eventually(() => notifications().some((n) => n.status === 'resolved'), 'the resolved notification');

    const [firing, resolved] = notifications();
    const labels = {
      alertname: 'AuditStorageUnreachable',
      service: SERVICE,
      monitor: 'orders',
      severity: 'critical',
      outage_id: outageId,
    };
    expect(firing!.status).toBe('firing');
    expect(firing!.alerts).toEqual([
      expect.objectContaining({
        status: 'firing',
        labels,
        annotations: {
          summary: 'Audit storage of billing-api unreachable (monitor orders)',
          description: expect.stringContaining('Last error: Error: connect ECONNREFUSED 10.0.0.5:5432'),
        },
        startsAt: '2026-01-01T12:00:00Z',
        generatorURL: 'https://grafana.example.com/d/audit',
      }),
    ]);
    expect(resolved!.alerts).toEqual([
      expect.objectContaining({ status: 'resolved', labels, endsAt: '2026-01-01T12:00:00Z' }),
    ]);
  });

  it('keeps an outage longer than resolve_timeout firing, and stops sending it again at shutdown', async () => {
    webhook.requests.length = 0;
    const booted = await apps.boot({
      serviceName: SERVICE,
      thresholdMs: 0,
      cooldownMs: 3_600_000,
      channels: [{ type: 'alertmanager', url: alertmanager.url, resendIntervalMs: 1_000 }],
    });
    const { monitor, clock } = booted;
    monitor.recordFailure(new Error('down'));
    const outageId = monitor.getStatus().outageId!;
    await eventually(() => notifications().some((n) => n.status === 'firing'), 'the firing notification');

    // Three times resolve_timeout, the module's clock moving as fast as real time: a re-send every second.
    const until = Date.now() + 9_000;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      clock.advance(100);
    }
    expect(notifications().map((n) => n.status)).toEqual(['firing']);
    const held = (await alertmanager.alerts()).filter((alert) => alert.labels.outage_id === outageId);
    expect(held.map((alert) => alert.status.state)).toEqual(['active']);

    // Shut down: nothing sends it again, and Alertmanager resolves it itself after resolve_timeout.
    apps.release(booted);
    await closeApp(booted);
    const closedAt = Date.now();
    await eventually(() => notifications().some((n) => n.status === 'resolved'), 'the resolved notification');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(1_000);
    expect(clock.pendingTimers).toBe(0);
  }, 40_000);

  it('escalates from degraded to unreachable: the degraded alert is resolved, the unreachable one fires, and the links are annotations', async () => {
    webhook.requests.length = 0;
    const { monitor, clock } = await apps.boot({
      serviceName: SERVICE,
      thresholdMs: 5_000,
      cooldownMs: 3_600_000,
      degraded: { ratio: 0.5, minWrites: 4, windowMs: 1_000 },
      links: [
        { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' },
        { text: 'Dashboard', url: 'https://grafana.example.com/d/audit' },
      ],
      channels: [{ type: 'alertmanager', url: alertmanager.url }],
    });
    // Every other write fails for longer than a window: degraded, not yet unreachable.
    for (let i = 0; i < 9; i += 1) {
      if (i % 2 === 1) monitor.recordSuccess();
      else monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
      if (i < 8) clock.advance(250);
    }
    expect(monitor.getStatus().state).toBe('degraded');
    const outageId = monitor.getStatus().outageId!;
    const active = async (): Promise<string[]> =>
      (await alertmanager.alerts())
        .filter((alert) => alert.labels.outage_id === outageId && alert.status.state === 'active')
        .map((alert) => alert.labels.alertname!);
    await eventually(async () => (await active()).join() === 'AuditStorageDegraded', 'the degraded alert');

    // Then nothing but failures for thresholdMs: the same outage escalates.
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    clock.advance(5_000);
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    expect(monitor.getStatus().state).toBe('alerting');
    await eventually(async () => (await active()).join() === 'AuditStorageUnreachable', 'the escalation');
    await eventually(
      () =>
        notifications().some((n) =>
          n.alerts.some((a) => a.status === 'resolved' && a.labels.alertname === 'AuditStorageDegraded'),
        ),
      'the degraded alert resolved',
    );
    const unreachable = notifications()
      .flatMap((n) => n.alerts)
      .find((a) => a.labels.alertname === 'AuditStorageUnreachable' && a.status === 'firing');
    expect(unreachable?.labels.outage_id).toBe(outageId);
    expect(unreachable?.annotations).toMatchObject({
      runbook_url: 'https://wiki.example.com/runbooks/audit',
      dashboard_url: 'https://grafana.example.com/d/audit',
      links: 'Runbook: https://wiki.example.com/runbooks/audit\nDashboard: https://grafana.example.com/d/audit',
    });
  });
});

describe('the Alertmanager channel, its requests', () => {
  const boot = async (channel: Record<string, unknown> = {}, options: Partial<AuditAlertModuleOptions> = {}) => {
    const receiver = await apps.receiver();
    const booted = await apps.boot({
      serviceName: SERVICE,
      thresholdMs: 0,
      cooldownMs: 3_600_000,
      channels: [{ type: 'alertmanager', url: receiver.url('/prefix'), ...channel } as never],
      ...options,
    });
    return { receiver, ...booted };
  };
  const posted = (receiver: HttpReceiver): PostedAlert[][] => receiver.bodies() as PostedAlert[][];

  it('POSTs to <url>/api/v2/alerts with bearer auth, re-sends on the clock, and ends at the recovery', async () => {
    const { receiver, monitor, clock, logger } = await boot({ auth: { bearer: BEARER }, resendIntervalMs: 30_000 });
    monitor.recordFailure(new Error('down'));
    await receiver.waitForRequests(1);
    expect(receiver.requests[0]).toMatchObject({
      method: 'POST',
      path: '/prefix/api/v2/alerts',
      headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' },
    });
    const [[first]] = posted(receiver) as [[PostedAlert]];
    expect(first.endsAt).toBeUndefined();

    clock.advance(29_999);
    await settle();
    expect(receiver.requests).toHaveLength(1);
    clock.advance(1);
    await receiver.waitForRequests(2);
    expect(posted(receiver)[1]).toEqual([first]);
    clock.advance(30_000);
    await receiver.waitForRequests(3);

    monitor.recordSuccess();
    await receiver.waitForRequests(4);
    expect(posted(receiver)[3]).toEqual([{ ...first, endsAt: new Date(clock.wallNow()).toISOString() }]);
    // No re-send after the recovery.
    clock.advance(120_000);
    await settle();
    expect(receiver.requests).toHaveLength(4);
    expect(logger.text()).not.toContain(BEARER);
  });

  it('sends basic auth, and the same labels with endsAt at the recovery', async () => {
    const { receiver, monitor } = await boot({ auth: { username: 'audit', password: PASSWORD } });
    monitor.recordFailure(new Error('down'));
    await receiver.waitForRequests(1);
    expect(receiver.requests[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from(`audit:${PASSWORD}`).toString('base64')}`,
    );
    monitor.recordSuccess();
    await receiver.waitForRequests(2);
    const [[fired], [ended]] = posted(receiver) as [[PostedAlert], [PostedAlert]];
    expect(ended.labels).toEqual(fired.labels);
    expect(ended.endsAt).toBeDefined();
  });

  it('tries a failed re-send again at the next interval, and logs it without the URL path', async () => {
    const { receiver, monitor, clock, logger } = await boot({ resendIntervalMs: 10_000, retries: 0 });
    monitor.recordFailure(new Error('down'));
    await receiver.waitForRequests(1);
    receiver.reply({ status: 503 });
    clock.advance(10_000);
    await receiver.waitForRequests(2);
    await eventually(() => logger.of('warn').length > 0, 'the warning', 2_000);
    expect(logger.of('warn')).toEqual([
      `Alertmanager channel (${new URL(receiver.url()).origin}): could not send the alert of an open episode again (HTTP 503); the next try is in one re-send interval.`,
    ]);
    clock.advance(10_000);
    await receiver.waitForRequests(3);
  });

  it('sends a test alert once, for Alertmanager to resolve by itself', async () => {
    const { receiver, app, clock } = await boot();
    const { AuditMonitorRegistry } = await import('../../src/index.js');
    const [result] = await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(result).toMatchObject({ delivered: true, attempts: 1 });
    expect(posted(receiver)[0]![0]!.labels).toMatchObject({ alertname: 'AuditAlertTest', severity: 'info' });
    clock.advance(600_000);
    await settle();
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('Alertmanager options', () => {
  const rejection = (channel: Record<string, unknown>): AuditAlertConfigError => {
    try {
      resolveAuditAlertOptions({ channels: [{ type: 'alertmanager', url: 'http://alertmanager:9093', ...channel }] });
    } catch (error) {
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as Error).message).not.toMatch(/S3CRET/);
      return error as AuditAlertConfigError;
    }
    throw new Error('accepted');
  };

  it('fill in the defaults and keep a path prefix', () => {
    const { channels } = resolveAuditAlertOptions({
      channels: [{ type: 'alertmanager', url: 'https://ops.example.com/alertmanager' }],
    });
    expect(channels[0]).toMatchObject({
      type: 'alertmanager',
      url: 'https://ops.example.com/alertmanager/api/v2/alerts',
      auth: null,
      resendIntervalMs: 60_000,
      generatorUrl: null,
    });
  });

  it.each([
    [{ url: 'ftp://alertmanager' }, 'channels[0].url'],
    [{ url: 'http://alertmanager:9093/?token=S3CRET' }, 'channels[0].url'],
    [{ resendIntervalMs: 300_000 }, 'channels[0].resendIntervalMs'],
    [{ resendIntervalMs: 10 }, 'channels[0].resendIntervalMs'],
    [{ auth: { username: 'u', password: '' } }, 'channels[0].auth.password'],
    [{ auth: { username: 'u', password: 'S3CRET\n' } }, 'channels[0].auth.password'],
    [{ auth: { bearer: 'S3CRET', username: 'u' } }, 'channels[0].auth.username'],
    [{ auth: 'S3CRET' }, 'channels[0].auth'],
    [{ generatorUrl: 'javascript:alert(1)' }, 'channels[0].generatorUrl'],
  ])('reject %p, naming %s', (channel, path) => {
    expect(rejection(channel).option).toBe(path);
  });
});

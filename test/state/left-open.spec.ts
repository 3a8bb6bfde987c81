import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditAlertModuleOptions } from '../../src/index.js';
import { ChannelApps } from '../channels/support/channel-app.js';
import { type HttpReceiver, waitFor } from '../channels/support/http-receiver.js';
import { flush } from '../support/manual-clock.js';

/*
 * Without `state` or `cluster`, a restart forgets the outage. What keeps a
 * PagerDuty incident from staying open for good: incidents keyed by monitor,
 * and a resolve of that key at the first success after a start, which
 * PagerDuty ignores when no incident is open. Real applications, real HTTP
 * receivers on 127.0.0.1.
 */

const SERVICE = 'ledger-api';
const ROUTING_KEY = 'R0UTINGKEY0000000000000000000000';
const MONITOR_KEY = `audit-storage:${SERVICE}:default`;

const apps = new ChannelApps();
const dirs: string[] = [];

afterEach(async () => {
  await apps.dispose();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

interface Receivers {
  pagerduty: HttpReceiver;
  webhook: HttpReceiver;
  slack: HttpReceiver;
}

async function receivers(): Promise<Receivers> {
  const [pagerduty, webhook, slack] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
  pagerduty.fallback = { status: 202 };
  return { pagerduty, webhook, slack };
}

function options(r: Receivers, extra: AuditAlertModuleOptions = {}, pagerduty: object = {}): AuditAlertModuleOptions {
  return {
    serviceName: SERVICE,
    thresholdMs: 5_000,
    channels: [
      { type: 'pagerduty', routingKey: ROUTING_KEY, url: r.pagerduty.url('/v2/enqueue'), ...pagerduty },
      { type: 'webhook', url: r.webhook.url() },
      { type: 'slack', url: r.slack.url() },
    ],
    ...extra,
  };
}

/** Real time for deliveries that must not come: what was started is on the wire within a few milliseconds. */
const quietly = async (): Promise<void> => {
  await flush();
  await new Promise((resolve) => setTimeout(resolve, 30));
};

describe('an incident a process before this one left open, without a store', () => {
  it('is resolved by monitor key at the first success after the start, once, and nobody else hears of it', async () => {
    const r = await receivers();
    const { monitor, logger } = await apps.boot(options(r));
    monitor.recordSuccess();
    await r.pagerduty.waitForRequests(1);
    monitor.recordSuccess();
    monitor.recordSuccess();
    await quietly();
    expect(r.pagerduty.bodies()).toEqual([
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: MONITOR_KEY },
    ]);
    expect([r.webhook.requests, r.slack.requests]).toEqual([[], []]);
    expect(logger.of('log')).toEqual([
      expect.stringMatching(
        /^PagerDuty channel \(http:\/\/127\.0\.0\.1:\d+\) resolved any outage incident of monitor "default" left open by an earlier process \(1 attempt\)\.$/,
      ),
    ]);
  });

  it('keys every outage of the monitor alike, so a process restarted mid-outage repeats into the same incident', async () => {
    const r = await receivers();
    const first = await apps.boot(options(r, { cooldownMs: 60_000 }));
    first.monitor.recordFailure(new Error('refused'));
    first.clock.advance(5_000);
    await r.pagerduty.waitForRequests(1);
    const second = await apps.boot(options(r, { cooldownMs: 60_000 }));
    second.monitor.recordFailure(new Error('refused'));
    second.clock.advance(5_000);
    await r.pagerduty.waitForRequests(2);
    second.monitor.recordSuccess();
    await r.pagerduty.waitForRequests(3);
    second.monitor.recordSuccess();
    await quietly();
    const pages = r.pagerduty.bodies() as { event_action: string; dedup_key: string }[];
    // Two outages, two outageIds, one incident; its own recovery spares the second process a resolve of its own.
    expect(pages.map((p) => [p.event_action, p.dedup_key])).toEqual([
      ['trigger', MONITOR_KEY],
      ['trigger', MONITOR_KEY],
      ['resolve', MONITOR_KEY],
    ]);
    const ids = (r.webhook.bodies() as { outageId: string }[]).map((e) => e.outageId);
    expect(new Set(ids).size).toBe(2);
  });

  it('is resolved by a probe passing while healthy, before any write', async () => {
    const r = await receivers();
    const { clock } = await apps.boot(
      options(r, { probe: { check: async () => undefined, intervalMs: 1_000 }, probeWhileHealthy: true }),
    );
    clock.advance(1_000);
    await r.pagerduty.waitForRequests(1);
    expect(r.pagerduty.bodies()).toEqual([
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: MONITOR_KEY },
    ]);
  });

  it('is retried like an alert when PagerDuty fails, and logged when given up', async () => {
    const r = await receivers();
    r.pagerduty.reply({ status: 503 });
    const { monitor, clock, logger } = await apps.boot(options(r, {}, { retries: 1, backoffMs: 1_000 }));
    monitor.recordSuccess();
    await r.pagerduty.waitForRequests(1);
    // The backoff is armed once the 503 has come back: time moves on until the retry has gone out.
    await waitFor(() => {
      clock.advance(1_000);
      return r.pagerduty.requests.length >= 2;
    }, 'the retry');
    expect(new Set(r.pagerduty.requests.map((request) => request.body)).size).toBe(1);

    r.pagerduty.reply({ status: 400 });
    const other = await apps.boot(options(r, {}, { retries: 0 }));
    other.monitor.recordSuccess();
    await r.pagerduty.waitForRequests(3);
    await quietly();
    expect(other.logger.of('warn')).toEqual([
      expect.stringContaining(
        'could not resolve an outage incident of monitor "default" an earlier process may have left open:',
      ),
    ]);
    expect(logger.of('warn')).toEqual([expect.stringContaining('503')]);
  });

  it.each([
    ['with a state file, which remembers the outage itself', 'state'],
    ['for a monitor the PagerDuty channel is not routed to', 'routed'],
    ['by a PagerDuty channel that does not send recoveries', 'events'],
    ['for a monitor without notifyRecovery', 'notifyRecovery'],
  ])('is not sent %s', async (_, variant) => {
    const r = await receivers();
    const dir = await mkdtemp(join(tmpdir(), 'audit-alert-left-open-'));
    dirs.push(dir);
    const extra: AuditAlertModuleOptions = { monitors: [{ name: 'default' }, { name: 'archive' }] };
    if (variant === 'state') extra.state = { file: join(dir, 'state.json') };
    if (variant === 'notifyRecovery') extra.notifyRecovery = false;
    const pagerduty =
      variant === 'routed'
        ? { monitors: ['archive'] }
        : variant === 'events'
          ? { events: ['audit.storage.unreachable'] }
          : {};
    const { monitor } = await apps.boot(options(r, extra, pagerduty));
    monitor.recordSuccess();
    await quietly();
    expect(r.pagerduty.requests).toEqual([]);
  });
});

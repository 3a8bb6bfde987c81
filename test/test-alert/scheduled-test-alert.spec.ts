import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import {
  type AlertTestFailedEvent,
  type AuditAlertEvent,
  AuditAlertConfigError,
  AuditAlertHook,
  type OnAuditAlert,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { ChannelApps, closeApp, settle } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const INTERVAL_MS = 3_600_000;

@AuditAlertHook({ events: ['audit.alert.test', 'audit.alert.test.failed'] })
@Injectable()
class OnCallHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

const ofType = (events: readonly AuditAlertEvent[], type: string) => events.filter((e) => e.type === type);
const typesOf = (bodies: readonly unknown[]) => bodies.map((b) => (b as { type: string }).type);

describe('testAlert: test alerts on a schedule', () => {
  it('names a recipient that answers 500 to the others, never back to it; a healthy round raises nothing', async () => {
    const [healthy, failing] = await Promise.all([apps.receiver(), apps.receiver()]);
    failing.fallback = { status: 500 };
    const { app, clock, logger } = await apps.boot(
      {
        serviceName: 'billing-api',
        testAlert: { intervalMs: INTERVAL_MS },
        channels: [
          { type: 'webhook', url: healthy.url() },
          { type: 'webhook', url: failing.url(), retries: 0 },
        ],
      },
      { providers: [OnCallHook] },
    );
    const hook = app.get(OnCallHook);
    const failingName = `Webhook channel (http://127.0.0.1:${failing.port})`;

    // Nothing before the first interval has passed.
    clock.advance(INTERVAL_MS - 1);
    await settle();
    expect(hook.events).toEqual([]);

    clock.advance(1);
    await waitFor(() => ofType(hook.events, 'audit.alert.test.failed').length === 1, 'the failure');
    const [test] = ofType(hook.events, 'audit.alert.test');
    const [failure] = ofType(hook.events, 'audit.alert.test.failed') as AlertTestFailedEvent[];
    expect(failure).toEqual({
      type: 'audit.alert.test.failed',
      testId: (test as { testId: string }).testId,
      monitor: 'default',
      serviceName: 'billing-api',
      recipient: failingName,
      reason: 'AuditAlertChannelError: gave up after 1 attempt; the last failed with HTTP 500',
      attempts: 1,
      sentAt: expect.any(Date),
    });
    expect(failure!.sentAt.toISOString()).toBe('2026-01-01T13:00:00.000Z');
    await waitFor(() => healthy.bodies().length === 2, 'the failure at the healthy channel');
    expect(typesOf(healthy.bodies())).toEqual(['audit.alert.test', 'audit.alert.test.failed']);
    expect(healthy.bodies()[1]).toMatchObject({ recipient: failingName, testId: failure!.testId });
    // The recipient that failed gets the test, never the news of its own failure.
    await settle();
    expect(typesOf(failing.bodies())).toEqual(['audit.alert.test']);
    expect(logger.of('error')).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Scheduled test alert ${failure!.testId} did not reach ${failingName.replace(/[()]/g, '\\$&')} after 1 attempt: AuditAlertChannelError: gave up after 1 attempt; the last failed with HTTP 500`,
        ),
      ),
    );

    // The receiver is fixed: the next round raises nothing.
    failing.fallback = { status: 200 };
    const errors = logger.of('error').length;
    clock.advance(INTERVAL_MS);
    await waitFor(() => ofType(hook.events, 'audit.alert.test').length === 2, 'the second test');
    await waitFor(() => failing.bodies().length === 2, 'the second test at the fixed channel');
    await settle();
    expect(ofType(hook.events, 'audit.alert.test.failed')).toHaveLength(1);
    expect(typesOf(healthy.bodies())).toEqual(['audit.alert.test', 'audit.alert.test.failed', 'audit.alert.test']);
    expect(logger.of('error')).toHaveLength(errors);
  });

  it('stops at shutdown, and is off by default', async () => {
    const receiver = await apps.receiver();
    const scheduled = await apps.boot({
      testAlert: { intervalMs: INTERVAL_MS },
      channels: [{ type: 'webhook', url: receiver.url() }],
    });
    apps.release(scheduled);
    await closeApp(scheduled);
    const timersAfterClose = scheduled.clock.pendingTimers;
    scheduled.clock.advance(10 * INTERVAL_MS);
    await settle();
    expect(timersAfterClose).toBe(0);
    expect(receiver.bodies()).toEqual([]);

    const off = await apps.boot({ channels: [{ type: 'webhook', url: receiver.url() }] });
    off.clock.advance(10 * INTERVAL_MS);
    await settle();
    expect(receiver.bodies()).toEqual([]);
  });

  it.each([
    [
      { intervalMs: 59_999 },
      'testAlert.intervalMs',
      /received 59999; expected a finite number of milliseconds from 60000 to 2147483647/,
    ],
    [{}, 'testAlert.intervalMs', /received undefined; expected a finite number of milliseconds from 60000/],
    [{ intervalMs: '1h' }, 'testAlert.intervalMs', /received '1h'/],
    [{ intervalMs: 60_000, every: 1 }, 'testAlert.every', /Unknown audit alert option "testAlert.every"/],
    [true, 'testAlert', /Invalid audit alert option "testAlert"/],
  ])('refuses testAlert %p at boot, naming %s', (testAlert, option, message) => {
    let error: unknown;
    try {
      resolveAuditAlertOptions({ testAlert });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as AuditAlertConfigError).option).toBe(option);
    expect((error as Error).message).toMatch(message);
  });
});

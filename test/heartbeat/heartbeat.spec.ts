import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditStorageMonitor,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { HttpReceiver, waitFor } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { RejectionWatch } from '../support/rejection-watch.js';

/*
 * The dead man's switch against a real HTTP receiver on 127.0.0.1, its
 * interval driven by a clock moved by hand.
 */

const INTERVAL_MS = 60_000;
const PING_PATH = '/ping/0f1e2d3c-secret-uuid';
const FAIL_PATH = `${PING_PATH}/fail`;
const STORAGE_ERROR = new Error('connect ECONNREFUSED 10.0.0.5:5432');

const rejections = new RejectionWatch();
beforeAll(() => rejections.install());
afterAll(() => {
  rejections.uninstall();
  expect(rejections.reasons).toEqual([]);
});

interface Booted {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly logger: CaptureLogger;
  readonly monitor: AuditStorageMonitor;
  readonly receiver: HttpReceiver;
}

const booted: Booted[] = [];

afterEach(async () => {
  for (const { app, receiver } of booted.splice(0)) {
    await app.close();
    await receiver.close();
  }
});

async function boot(
  heartbeat: (receiver: HttpReceiver) => AuditAlertModuleOptions['heartbeat'],
  options: AuditAlertModuleOptions = {},
): Promise<Booted> {
  const receiver = await HttpReceiver.start();
  const clock = new ManualClock();
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AuditAlertModule.forRoot({
        serviceName: 'billing-api',
        thresholdMs: 30_000,
        ...options,
        heartbeat: heartbeat(receiver),
      }),
    ],
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  const started = { app, clock, logger, monitor: app.get(AuditStorageMonitor), receiver };
  booted.push(started);
  return started;
}

/** Gives in-flight requests a few real milliseconds, to show that nothing more arrives. */
async function settle(): Promise<void> {
  await flush();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await flush();
}

/** Waits until `count` pings have arrived and been answered: a beat while one is in flight sends none. */
async function answered(receiver: HttpReceiver, count: number): Promise<void> {
  await receiver.waitForRequests(count);
  await settle();
}

const paths = (receiver: HttpReceiver): string[] => receiver.requests.map((request) => request.path);

describe('heartbeat', () => {
  it('pings at start and every interval while healthy, with the method and headers given', async () => {
    const { clock, receiver } = await boot((r) => ({
      url: r.url(PING_PATH),
      headers: { authorization: 'Bearer h0secret' },
    }));
    await answered(receiver, 1);
    for (let beat = 2; beat <= 4; beat += 1) {
      clock.advance(INTERVAL_MS);
      await answered(receiver, beat);
    }
    clock.advance(INTERVAL_MS - 1);
    await settle();
    expect(paths(receiver)).toEqual([PING_PATH, PING_PATH, PING_PATH, PING_PATH]);
    const [first] = receiver.requests;
    expect(first).toMatchObject({ method: 'GET', body: '' });
    expect(first!.headers).toMatchObject({ authorization: 'Bearer h0secret' });
    expect(first!.headers['user-agent']).toMatch(/^nestjs-audit-alert\//);
  });

  it('pings failUrl at once and every interval while a monitor is alerting, and url again once it recovers', async () => {
    const { clock, monitor, receiver } = await boot((r) => ({ url: r.url(PING_PATH), failUrl: r.url(FAIL_PATH) }));
    await receiver.waitForRequests(1);

    monitor.recordFailure(STORAGE_ERROR);
    clock.advance(29_999);
    await settle();
    // Failing below the threshold is not alerting yet: nothing changes.
    expect(paths(receiver)).toEqual([PING_PATH]);

    clock.advance(1);
    expect(monitor.getStatus().state).toBe('alerting');
    await answered(receiver, 2);
    clock.advance(INTERVAL_MS);
    await answered(receiver, 3);
    expect(paths(receiver)).toEqual([PING_PATH, FAIL_PATH, FAIL_PATH]);

    monitor.recordSuccess();
    await answered(receiver, 4);
    clock.advance(INTERVAL_MS);
    await receiver.waitForRequests(5);
    expect(paths(receiver)).toEqual([PING_PATH, FAIL_PATH, FAIL_PATH, PING_PATH, PING_PATH]);
  });

  it('pings what the monitors say at the beat, even when their status has not been published yet', async () => {
    const { clock, monitor, receiver } = await boot((r) => ({ url: r.url(PING_PATH), failUrl: r.url(FAIL_PATH) }), {
      thresholdMs: 0,
    });
    await answered(receiver, 1);
    // The alert and the beat fall on one turn: status$ has not spoken yet.
    clock.advance(INTERVAL_MS - 1);
    monitor.recordFailure(STORAGE_ERROR);
    clock.advance(1);
    await answered(receiver, 2);
    expect(paths(receiver)).toEqual([PING_PATH, FAIL_PATH]);
  });

  it('stops pinging while alerting when there is no failUrl', async () => {
    const { clock, monitor, receiver } = await boot((r) => ({ url: r.url(PING_PATH), method: 'POST' }), {
      thresholdMs: 0,
    });
    await receiver.waitForRequests(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toEqual({
      serviceName: 'billing-api',
      alerting: false,
      monitors: [{ monitor: 'default', state: 'healthy' }],
    });
    expect(receiver.requests[0]!.headers['content-type']).toBe('application/json');

    monitor.recordFailure(STORAGE_ERROR);
    await flush(); // status$ reports the change on a later turn
    for (let i = 0; i < 5; i += 1) clock.advance(INTERVAL_MS);
    await settle();
    expect(receiver.requests).toHaveLength(1);

    monitor.recordSuccess();
    await receiver.waitForRequests(2);
    expect(receiver.requests[1]!.method).toBe('POST');
  });

  it('sends nothing once the application has shut down, and leaves no timer behind', async () => {
    const { app, clock, receiver } = await boot((r) => ({ url: r.url(PING_PATH) }));
    await receiver.waitForRequests(1);
    await app.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10 * INTERVAL_MS);
    await settle();
    expect(receiver.requests).toHaveLength(1);
  });

  it('bounds a ping by timeoutMs, never retries nor doubles it, and logs the failure once, by origin only', async () => {
    const { clock, logger, receiver } = await boot((r) => ({ url: r.url(PING_PATH), timeoutMs: 40 }));
    receiver.reply('hang', 'hang', { status: 503 }, { status: 503 });
    await receiver.waitForRequests(1);
    // A beat while the first ping still hangs does not send a second one.
    clock.advance(INTERVAL_MS);
    await settle();
    expect(receiver.requests).toHaveLength(1);
    await waitFor(() => logger.of('warn').length === 1, 'the timeout to be logged');

    clock.advance(INTERVAL_MS); // hangs, then times out
    await answered(receiver, 2);
    await new Promise((resolve) => setTimeout(resolve, 40));
    clock.advance(INTERVAL_MS); // 503: not retried
    await answered(receiver, 3);
    expect(receiver.requests).toHaveLength(3);
    clock.advance(INTERVAL_MS); // 503 again
    await answered(receiver, 4);
    clock.advance(INTERVAL_MS); // answered
    await receiver.waitForRequests(5);
    await waitFor(() => logger.of('log').some((line) => line.includes('get through again')), 'the recovery log');

    const warnings = logger.of('warn');
    expect(warnings).toEqual([
      `Heartbeat (http://127.0.0.1:${receiver.port}): a ping was not delivered (AuditAlertChannelError: gave up after 1 attempt; the last failed with no response within 40 ms); the dead man's switch pages if this goes on. Not logged again until a ping gets through.`,
    ]);
    expect(logger.text()).not.toMatch(/secret|\/ping/);
  });

  it('pings the fail URL at start when a monitor is already alerting by then', async () => {
    const { clock, monitor, receiver } = await boot((r) => ({ url: r.url(PING_PATH), failUrl: r.url(FAIL_PATH) }), {
      thresholdMs: 0,
    });
    await receiver.waitForRequests(1);
    monitor.recordFailure(STORAGE_ERROR);
    await receiver.waitForRequests(2);
    // A further failure, or a repeat alert, is no change of state: no extra ping.
    monitor.recordFailure(STORAGE_ERROR);
    clock.advance(1_000);
    await settle();
    expect(paths(receiver)).toEqual([PING_PATH, FAIL_PATH]);
  });
});

describe('heartbeat options', () => {
  const secret = 'https://hc-ping.com/0f1e2d3c-secret-uuid';
  const error = (heartbeat: unknown): AuditAlertConfigError => {
    try {
      resolveAuditAlertOptions({ heartbeat });
    } catch (thrown) {
      return thrown as AuditAlertConfigError;
    }
    throw new Error('no error');
  };

  it('fills in the defaults', () => {
    expect(resolveAuditAlertOptions({ heartbeat: { url: secret } }).heartbeat).toEqual({
      url: secret,
      failUrl: null,
      intervalMs: 60_000,
      method: 'GET',
      headers: {},
      timeoutMs: 10_000,
    });
    expect(resolveAuditAlertOptions({}).heartbeat).toBeNull();
  });

  it.each([
    [null, 'heartbeat', 'received null; expected an object'],
    [{}, 'heartbeat.url', 'received undefined (content not shown, it may be a secret); expected an absolute http'],
    [{ url: 'ftp://example.com/x' }, 'heartbeat.url', 'a URL with the scheme "ftp:"'],
    [{ url: 'https://user:pw@example.com/x' }, 'heartbeat.url', 'user information'],
    [
      { url: secret, failUrl: 'not a url' },
      'heartbeat.failUrl',
      'a string of 9 characters that is not an absolute URL',
    ],
    [{ url: secret, method: 'PUT' }, 'heartbeat.method', "received 'PUT'; expected one of 'GET', 'HEAD', 'POST'"],
    [
      { url: secret, intervalMs: 0 },
      'heartbeat.intervalMs',
      'received 0; expected a finite number of milliseconds from 1',
    ],
    [{ url: secret, timeoutMs: Number.NaN }, 'heartbeat.timeoutMs', 'received NaN'],
    [{ url: secret, headers: { 'x-key': 'a\r\nb' } }, 'heartbeat.headers["x-key"]', 'a value fetch cannot send'],
    [{ url: secret, headers: { Host: 'x' } }, 'heartbeat.headers["Host"]', 'which HTTP itself manages'],
    [{ url: secret, retries: 3 }, 'heartbeat.retries', 'the options are: url, intervalMs, failUrl'],
  ])('rejects %p at %s', (heartbeat, path, text) => {
    const thrown = error(heartbeat);
    expect(thrown).toBeInstanceOf(AuditAlertConfigError);
    expect(thrown.message).toContain(`"${path}"`);
    expect(thrown.message).toContain(text);
    expect(thrown.message).not.toContain('secret-uuid');
  });
});

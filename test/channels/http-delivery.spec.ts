import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import {
  backoffDelay,
  HttpDelivery,
  MAX_RETRY_DELAY_MS,
  parseRetryAfter,
  type RetryPolicy,
  USER_AGENT,
} from '../../src/channels/http-delivery.js';
import { AuditAlertChannelError } from '../../src/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { RejectionWatch } from '../support/rejection-watch.js';
import { closedPort, HttpReceiver, waitFor } from './support/http-receiver.js';

const LABEL = 'Webhook channel (http://127.0.0.1)';
const TYPE = 'audit.storage.unreachable';
const SECRET_PATH = '/hooks/T0SECRET/B0SECRET/x0secret';

const rejections = new RejectionWatch();
beforeAll(() => rejections.install());
afterAll(() => {
  rejections.uninstall();
  expect(rejections.reasons).toEqual([]);
});

describe('HttpDelivery', () => {
  let clock: ManualClock;
  let logger: CaptureLogger;
  let shutdown: AbortController;
  let delivery: HttpDelivery;
  let receiver: HttpReceiver;
  let random: number;

  const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
    timeoutMs: 10_000,
    retries: 3,
    backoffMs: 1_000,
    ...overrides,
  });

  const send = (url: string, overrides: Partial<RetryPolicy> = {}): Promise<number> =>
    delivery.send(
      LABEL,
      TYPE,
      {
        url,
        headers: new Headers({ 'content-type': 'application/json', 'user-agent': USER_AGENT }),
        body: '{"hello":"world"}',
      },
      policy(overrides),
    );

  /** Waits until the delivery has armed its backoff timer, i.e. it is between two attempts. */
  const waitForBackoff = (): Promise<void> => waitFor(() => clock.pendingTimers === 1, 'a backoff timer');

  beforeEach(async () => {
    clock = new ManualClock();
    logger = new CaptureLogger();
    shutdown = new AbortController();
    random = 0;
    delivery = new HttpDelivery(clock, () => random, shutdown.signal, logger);
    receiver = await HttpReceiver.start();
  });

  afterEach(async () => {
    shutdown.abort();
    await receiver.close();
    // Whatever happened, nothing logged may reveal the path of the URL.
    expect(logger.text()).not.toContain('SECRET');
    expect(logger.text()).not.toContain('secret');
  });

  it('POSTs the body and headers once when the receiver answers 2xx', async () => {
    receiver.reply({ status: 202 });
    await send(receiver.url(SECRET_PATH));
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', path: SECRET_PATH, body: '{"hello":"world"}' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe(USER_AGENT);
    expect(logger.lines).toEqual([]);
  });

  it('names the package and its version in the user-agent', () => {
    const manifest = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };
    expect(USER_AGENT).toBe(`nestjs-audit-alert/${manifest.version}`);
  });

  it.each([500, 503])('retries %i after an exponential backoff driven by the clock', async (status) => {
    receiver.reply({ status }, { status });
    const sent = send(receiver.url(SECRET_PATH));
    await receiver.waitForRequests(1);
    await waitForBackoff();
    clock.advance(499); // random pinned to 0: the first wait is half of backoffMs
    expect(receiver.requests).toHaveLength(1);
    clock.advance(1);
    await receiver.waitForRequests(2);
    await waitForBackoff();
    clock.advance(999); // then half of twice backoffMs
    expect(receiver.requests).toHaveLength(2);
    clock.advance(1);
    await expect(sent).resolves.toBe(3);
    expect(receiver.requests).toHaveLength(3);
    expect(logger.at('warn')).toEqual([
      `${LABEL}: attempt 1 to send ${TYPE} failed (HTTP ${status}); retrying in 500 ms.`,
      `${LABEL}: attempt 2 to send ${TYPE} failed (HTTP ${status}); retrying in 1000 ms.`,
    ]);
    // The channel's caller logs the delivery, with the attempts it took.
    expect(logger.at('log')).toEqual([]);
  });

  it('honours Retry-After in seconds on a 429', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '7' } });
    const sent = send(receiver.url(SECRET_PATH));
    await receiver.waitForRequests(1);
    await waitForBackoff();
    clock.advance(6_999);
    expect(receiver.requests).toHaveLength(1);
    clock.advance(1);
    await sent;
    expect(receiver.requests).toHaveLength(2);
    expect(logger.at('warn')).toEqual([`${LABEL}: attempt 1 to send ${TYPE} failed (HTTP 429); retrying in 7000 ms.`]);
  });

  it('honours Retry-After as an HTTP date, read against the clock', async () => {
    const at = new Date(clock.wallNow() + 4_000).toUTCString();
    receiver.reply({ status: 503, headers: { 'retry-after': at } });
    const sent = send(receiver.url(SECRET_PATH));
    await receiver.waitForRequests(1);
    await waitForBackoff();
    clock.advance(3_999);
    expect(receiver.requests).toHaveLength(1);
    clock.advance(1);
    await sent;
    expect(receiver.requests).toHaveLength(2);
  });

  it('caps a Retry-After at five minutes', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '86400' } });
    const sent = send(receiver.url(SECRET_PATH));
    await receiver.waitForRequests(1);
    await waitForBackoff();
    clock.advance(MAX_RETRY_DELAY_MS - 1);
    expect(receiver.requests).toHaveLength(1);
    clock.advance(1);
    await sent;
    expect(receiver.requests).toHaveLength(2);
  });

  it.each([400, 401, 404])('does not retry a %i', async (status) => {
    receiver.reply({ status });
    const error = await send(receiver.url(SECRET_PATH)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditAlertChannelError);
    expect(error).toMatchObject({
      name: 'AuditAlertChannelError',
      message: `the receiver answered HTTP ${status}; not retried`,
      channel: LABEL,
      eventType: TYPE,
      attempts: 1,
      lastReason: `HTTP ${status}`,
    });
    expect(receiver.requests).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not follow a redirect', async () => {
    receiver.reply({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    await expect(send(receiver.url(SECRET_PATH))).rejects.toThrow('HTTP 302 (redirects are not followed); not retried');
    expect(receiver.requests).toHaveLength(1);
  });

  it('gives up once the retries are spent', async () => {
    receiver.fallback = { status: 500 };
    const sent = send(receiver.url(SECRET_PATH), { retries: 2 });
    const failed = expect(sent).rejects.toMatchObject({
      message: 'gave up after 3 attempts; the last failed with HTTP 500',
      attempts: 3,
      lastReason: 'HTTP 500',
    });
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      await receiver.waitForRequests(attempt);
      await waitForBackoff();
      clock.advance(MAX_RETRY_DELAY_MS);
    }
    await failed;
    expect(receiver.requests).toHaveLength(3);
  });

  it('retries a refused connection and delivers once the receiver is back', async () => {
    const port = await closedPort();
    const sent = send(`http://127.0.0.1:${port}${SECRET_PATH}`);
    await waitForBackoff();
    expect(logger.at('warn')).toEqual([
      `${LABEL}: attempt 1 to send ${TYPE} failed (network error ECONNREFUSED); retrying in 500 ms.`,
    ]);
    const back = await HttpReceiver.start(port);
    try {
      clock.advance(500);
      await sent;
      expect(back.requests).toHaveLength(1);
      expect(back.requests[0]!.path).toBe(SECRET_PATH);
    } finally {
      await back.close();
    }
  });

  it('abandons an attempt that gets no response within timeoutMs, and retries it', async () => {
    receiver.reply('hang', 'hang');
    const sent = send(receiver.url(SECRET_PATH), { timeoutMs: 50, retries: 1 });
    const failed = expect(sent).rejects.toThrow(
      'gave up after 2 attempts; the last failed with no response within 50 ms',
    );
    await waitForBackoff(); // the first attempt timed out, for real, after 50 ms
    expect(logger.at('warn')).toEqual([
      `${LABEL}: attempt 1 to send ${TYPE} failed (no response within 50 ms); retrying in 500 ms.`,
    ]);
    clock.advance(500);
    await failed;
    expect(receiver.requests).toHaveLength(2);
  });

  it('stops waiting to retry when the application shuts down', async () => {
    receiver.fallback = { status: 503 };
    const sent = send(receiver.url(SECRET_PATH));
    await waitForBackoff();
    shutdown.abort();
    await expect(sent).rejects.toThrow('stopped by the application shutdown after 1 attempt');
    expect(clock.pendingTimers).toBe(0);
    clock.advance(MAX_RETRY_DELAY_MS);
    expect(receiver.requests).toHaveLength(1);
  });

  it('stops an attempt in progress when the application shuts down', async () => {
    receiver.reply('hang');
    const sent = send(receiver.url(SECRET_PATH));
    await receiver.waitForRequests(1);
    shutdown.abort();
    await expect(sent).rejects.toThrow('stopped by the application shutdown after 1 attempt');
    expect(clock.pendingTimers).toBe(0);
  });

  it('sends nothing once the application has shut down', async () => {
    shutdown.abort();
    await expect(send(receiver.url(SECRET_PATH))).rejects.toMatchObject({
      message: 'not sent: the application shut down first',
      attempts: 0,
      lastReason: null,
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('never blocks other deliveries while one is retrying', async () => {
    const slow = await HttpReceiver.start();
    try {
      slow.fallback = { status: 503 };
      const retrying = send(slow.url(SECRET_PATH));
      const stopped = expect(retrying).rejects.toThrow('stopped by the application shutdown');
      await waitForBackoff();
      await send(receiver.url(SECRET_PATH));
      expect(receiver.requests).toHaveLength(1);
      shutdown.abort();
      await stopped;
    } finally {
      await slow.close();
    }
  });
});

describe('backoffDelay', () => {
  it('doubles backoffMs on each retry, with equal jitter between half and all of it', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(1_000, retry, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((retry) => backoffDelay(1_000, retry, () => 0.999_999))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    for (let retry = 1; retry <= 10; retry += 1) {
      const delay = backoffDelay(1_000, retry, Math.random);
      const ceiling = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (retry - 1));
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('never waits more than five minutes', () => {
    expect(backoffDelay(1_000, 30, () => 0.999_999)).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffDelay(2 ** 31 - 1, 1, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
  });

  it('waits not at all for a date in the past, and at most five minutes', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('3600', now)).toBe(MAX_RETRY_DELAY_MS);
    expect(parseRetryAfter('Fri, 02 Jan 2026 12:00:00 GMT', now)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('ignores what it cannot read', () => {
    for (const value of [null, '', '-5', '1.5', 'soon', 'Thu, 99 Foo 2026'])
      expect(parseRetryAfter(value, now)).toBeNull();
  });
});

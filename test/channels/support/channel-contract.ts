import { expect, it } from '@jest/globals';
import { type AuditAlertChannelOptions, AuditMonitorRegistry } from '../../../src/index.js';
import { type ChannelApps, settle, waitForTimers } from './channel-app.js';
import type { HttpReceiver, ReceivedRequest } from './http-receiver.js';
import { waitFor } from './http-receiver.js';

/** What the shared proofs need to know of one channel type. */
export interface ChannelUnderTest {
  /** The channel's options, sending to `url` (a receiver on 127.0.0.1, path and query included). */
  readonly options: (url: string) => AuditAlertChannelOptions;
  /** The path and query of the receiver that the options point at, holding what must never be logged. */
  readonly path: string;
  /** Every text that must never reach a log line: the URL's secret parts, keys. */
  readonly secrets: RegExp;
  /** The answer the service gives to a good request. */
  readonly accepted: number;
  /** Checks a body against the service's documented schema: the problems found. */
  readonly problems: (body: unknown, request: ReceivedRequest) => string[];
  /** What a request says it is, such as `alert` or `recovery`. */
  readonly kindOf: (request: ReceivedRequest) => 'alert' | 'recovery' | 'other';
  /** Requests a test alert makes. */
  readonly testRequests: number;
}

/**
 * The proofs every built-in channel owes (retries, no retry on a request the
 * receiver refuses, no secret in the logs, routing, the test alert), run
 * against a real HTTP server on 127.0.0.1.
 */
export function channelContract(apps: ChannelApps, channel: ChannelUnderTest): void {
  const start = async (
    extra: Partial<AuditAlertChannelOptions> = {},
    options: Record<string, unknown> = {},
  ): Promise<{ receiver: HttpReceiver } & Awaited<ReturnType<ChannelApps['boot']>>> => {
    const receiver = await apps.receiver();
    receiver.fallback = { status: channel.accepted };
    const booted = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      ...options,
      channels: [{ ...channel.options(receiver.url(channel.path)), ...extra } as AuditAlertChannelOptions],
    });
    return { receiver, ...booted };
  };

  it('retries a 500, a 503 and a 429 (after its Retry-After), with backoff on the clock, and logs no secret', async () => {
    const receiver = await apps.receiver();
    receiver.fallback = { status: channel.accepted };
    receiver.reply({ status: 500 }, { status: 503 }, { status: 429, headers: { 'retry-after': '7' } });
    const { monitor, clock, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      channels: [channel.options(receiver.url(channel.path))],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    await waitForTimers(clock);
    expect(receiver.requests).toHaveLength(1);
    clock.advance(500);
    await receiver.waitForRequests(2);
    await waitForTimers(clock);
    clock.advance(1_000);
    await receiver.waitForRequests(3);
    await waitForTimers(clock);
    clock.advance(6_999);
    await settle();
    expect(receiver.requests).toHaveLength(3);
    clock.advance(1);
    await receiver.waitForRequests(4);
    await waitFor(() => logger.of('log').length === 1, 'the delivery logged');
    expect(logger.of('warn').map((line) => /failed \((.*)\); retrying in (\d+) ms/.exec(line)?.slice(1))).toEqual([
      ['HTTP 500', '500'],
      ['HTTP 503', '1000'],
      ['HTTP 429', '7000'],
    ]);
    expect(logger.of('log')[0]).toContain('in 4 attempts');
    for (const request of receiver.requests) {
      expect(channel.kindOf(request)).toBe('alert');
      expect(channel.problems(JSON.parse(request.body), request)).toEqual([]);
    }
    expect(logger.text()).not.toMatch(channel.secrets);
  });

  it('does not retry a 400, 401, 403 or 404, logs the failure once, and no secret', async () => {
    for (const status of [400, 401, 403, 404]) {
      const receiver = await apps.receiver();
      receiver.fallback = { status };
      const { monitor, logger } = await apps.boot({
        thresholdMs: 0,
        channels: [channel.options(receiver.url(channel.path))],
      });
      monitor.recordFailure('down');
      await receiver.waitForRequests(1);
      await waitFor(() => logger.of('error').length === 1, `the ${status} logged`);
      await settle();
      expect(receiver.requests).toHaveLength(1);
      expect(logger.of('error')[0]).toContain(`the receiver answered HTTP ${status}; not retried`);
      expect(logger.text()).not.toMatch(channel.secrets);
    }
  });

  it("sends only its monitors' outages, from the fromOccurrence-th alert, and then their recovery", async () => {
    const { receiver, app, clock } = await start(
      { monitors: ['ledger'], fromOccurrence: 2 },
      { monitors: [{ name: 'orders' }, { name: 'ledger' }], cooldownMs: 1_000 },
    );
    const registry = app.get(AuditMonitorRegistry);
    registry.get('orders').recordFailure('orders down');
    registry.get('ledger').recordFailure('ledger down');
    await settle();
    expect(receiver.requests).toHaveLength(0);
    clock.advance(1_000);
    registry.get('orders').recordFailure('orders still down');
    registry.get('ledger').recordFailure('ledger still down');
    await receiver.waitForRequests(1);
    registry.get('orders').recordSuccess();
    registry.get('ledger').recordSuccess();
    await receiver.waitForRequests(2);
    await settle();
    expect(receiver.requests.map(channel.kindOf)).toEqual(['alert', 'recovery']);
    expect(receiver.requests[0]!.body).toContain('ledger still down');
    expect(receiver.requests.some((request) => request.body.includes('orders'))).toBe(false);
    for (const request of receiver.requests) expect(channel.problems(JSON.parse(request.body), request)).toEqual([]);
  });

  it('delivers a test alert, whatever its events and fromOccurrence', async () => {
    const { receiver, app, logger } = await start({ events: ['audit.storage.unreachable'], fromOccurrence: 3 });
    const [result] = await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(result).toMatchObject({ delivered: true, attempts: channel.testRequests });
    expect(receiver.requests).toHaveLength(channel.testRequests);
    for (const request of receiver.requests) expect(channel.problems(JSON.parse(request.body), request)).toEqual([]);
    expect(logger.text()).not.toMatch(channel.secrets);
  });
}

/** Collects the problems of a value against simple limits: `check(path, ok, problem)`. */
export function problemList(): { problems: string[]; check: (path: string, ok: boolean, problem: string) => void } {
  const problems: string[] = [];
  return { problems, check: (path, ok, problem) => void (ok || problems.push(`${path}: ${problem}`)) };
}

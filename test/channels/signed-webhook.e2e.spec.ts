import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { webhookSignature } from '../../src/channels/webhook.channel.js';
import { AuditAlertConfigError, AuditMonitorRegistry } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps, waitForTimers } from './support/channel-app.js';
import { waitFor } from './support/http-receiver.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const SECRET = 'whsec_N3WSECRETn3wsecret0123';
const OLD_SECRET = 'whsec_0LDSECRET0ldsecret4567';
/** 2026-01-01T12:00:00Z, where the test clock starts. */
const START = 1_767_268_800;

/**
 * The receiver's side, as docs/channels.md gives it: the signature of the raw
 * body under one of its secrets, at most five minutes old (or early).
 */
function verifySignature(rawBody: string, header: string | undefined, secret: string, nowSeconds: number): boolean {
  if (header === undefined) return false;
  const parts = header.split(',').map((part) => part.trim().split('='));
  const t = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return parts
    .filter(([key, value]) => key === 'v1' && /^[0-9a-f]{64}$/.test(value ?? ''))
    .some(([, value]) => timingSafeEqual(Buffer.from(value!, 'hex'), expected));
}

function rejection(signingSecret: unknown): AuditAlertConfigError {
  try {
    resolveAuditAlertOptions({ channels: [{ type: 'webhook', url: 'https://alerts.example.com/', signingSecret }] });
  } catch (error) {
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    return error as AuditAlertConfigError;
  }
  throw new Error('accepted');
}

describe('a signed webhook', () => {
  it('signs each request so that a receiver holding either secret verifies it, and refuses a changed body or a stale timestamp', async () => {
    const receiver = await apps.receiver();
    const { monitor, clock, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      channels: [{ type: 'webhook', url: receiver.url('/audit'), signingSecret: [SECRET, OLD_SECRET] }],
    });
    monitor.recordFailure('down');
    await receiver.waitForRequests(1);
    const [request] = receiver.requests;
    const header = request!.headers['x-audit-alert-signature'] as string;

    expect(header).toMatch(new RegExp(`^t=${START},v1=[0-9a-f]{64},v1=[0-9a-f]{64}$`));
    expect(header).toBe(webhookSignature(request!.body, START, [SECRET, OLD_SECRET]));
    // Either secret verifies it: the receiver can rotate on its own schedule.
    expect(verifySignature(request!.body, header, SECRET, START)).toBe(true);
    expect(verifySignature(request!.body, header, OLD_SECRET, START + 299)).toBe(true);
    expect(verifySignature(request!.body, header, 'whsec_S0MEOTHERsecret0000', START)).toBe(false);
    // A body changed on the way, by one character.
    const changed = request!.body.replace('"down"', '"d0wn"');
    expect(changed).not.toBe(request!.body);
    expect(verifySignature(changed, header, SECRET, START)).toBe(false);
    // A replay more than five minutes later, or a timestamp moved to look fresh.
    expect(verifySignature(request!.body, header, SECRET, START + 301)).toBe(false);
    expect(verifySignature(request!.body, header.replace(`t=${START}`, `t=${START + 400}`), SECRET, START + 400)).toBe(
      false,
    );
    expect(verifySignature(request!.body, undefined, SECRET, START)).toBe(false);

    // The recovery is signed with the time it is sent at.
    clock.advance(42_000);
    monitor.recordSuccess();
    await receiver.waitForRequests(2);
    const recovery = receiver.requests[1]!;
    expect(recovery.headers['x-audit-alert-signature']).toMatch(new RegExp(`^t=${START + 42},`));
    expect(
      verifySignature(recovery.body, recovery.headers['x-audit-alert-signature'] as string, SECRET, START + 42),
    ).toBe(true);
    expect(logger.text()).not.toMatch(/N3WSECRET|0LDSECRET|whsec_/);
  });

  it('signs each attempt afresh, so a retry minutes later is not refused as stale', async () => {
    const receiver = await apps.receiver();
    receiver.reply({ status: 503 }, { status: 503 });
    const { monitor, clock, logger } = await apps.boot({
      thresholdMs: 0,
      channels: [{ type: 'webhook', url: receiver.url(), signingSecret: SECRET, backoffMs: 400_000 }],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    // Backoff capped at five minutes; jitter pinned to its lowest value: half of it.
    clock.advance(150_000);
    await waitForTimers(clock);
    clock.advance(150_000);
    await receiver.waitForRequests(3);
    const stamps = receiver.requests.map((request) => {
      const header = request.headers['x-audit-alert-signature'] as string;
      const t = Number(/^t=(\d+),/.exec(header)![1]);
      expect(verifySignature(request.body, header, SECRET, t)).toBe(true);
      return t;
    });
    expect(stamps).toEqual([START, START + 150, START + 300]);
    // The first signature would be refused by the time of the last attempt; the last one is accepted.
    const first = receiver.requests[0]!;
    expect(verifySignature(first.body, first.headers['x-audit-alert-signature'] as string, SECRET, START + 301)).toBe(
      false,
    );
    await waitFor(() => logger.of('log').length === 1, 'the delivery logged');
    expect(logger.text()).not.toMatch(/N3WSECRET|whsec_/);
  });

  it('signs the test alert like any other event', async () => {
    const receiver = await apps.receiver();
    const { app } = await apps.boot({
      channels: [{ type: 'webhook', url: receiver.url(), signingSecret: SECRET }],
    });
    const [result] = await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(result).toMatchObject({ delivered: true, attempts: 1 });
    const [request] = receiver.requests;
    expect(verifySignature(request!.body, request!.headers['x-audit-alert-signature'] as string, SECRET, START)).toBe(
      true,
    );
  });

  it('sends no signature header without a secret', async () => {
    const receiver = await apps.receiver();
    const { monitor } = await apps.boot({ thresholdMs: 0, channels: [{ type: 'webhook', url: receiver.url() }] });
    monitor.recordFailure('down');
    await receiver.waitForRequests(1);
    expect(receiver.requests[0]!.headers['x-audit-alert-signature']).toBeUndefined();
  });

  it('refuses a short, empty, repeated or non-string secret at boot, naming the option and never showing the secret', () => {
    const short = rejection('sh0rtSECRET');
    expect(short.message).toContain('"channels[0].signingSecret"');
    expect(short.message).toContain('a string of 11 characters');
    expect(short.message).not.toContain('sh0rtSECRET');
    expect(rejection([SECRET, 42]).message).toContain('"channels[0].signingSecret[1]"');
    expect(rejection([]).message).toContain('an array of 0 secrets');
    const twice = rejection([SECRET, SECRET]);
    expect(twice.message).toContain('the same secret twice');
    expect(twice.message).not.toContain('N3WSECRET');
    expect(
      rejection(['a'.repeat(16), 'b'.repeat(16), 'c'.repeat(16), 'd'.repeat(16), 'e'.repeat(16), 'f'.repeat(16)])
        .message,
    ).toContain('an array of 6 secrets');
    expect(
      resolveAuditAlertOptions({ channels: [{ type: 'webhook', url: 'https://a.example/', signingSecret: SECRET }] })
        .channels[0],
    ).toMatchObject({ signingSecrets: [SECRET] });
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { PAGERDUTY_EVENTS_URL } from '../../src/channels/channels.options.js';
import { pagerDutyEvent } from '../../src/channels/pagerduty.channel.js';
import { slackMessage } from '../../src/channels/slack.channel.js';
import {
  AuditAlertConfigError,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { ChannelApps } from '../channels/support/channel-app.js';
import { monitorHarness } from '../support/monitor-harness.js';

const apps = new ChannelApps();
afterEach(() => apps.dispose());

function configError(run: () => unknown): AuditAlertConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    return error as AuditAlertConfigError;
  }
  throw new Error('no AuditAlertConfigError');
}

const WEBHOOK = 'https://hooks.example/alert';

describe('header values fetch cannot send', () => {
  it.each([
    ['a character above U+00FF', 'Bearer t\u20acken-s3cr3t'],
    ['an emoji', 'key-s3cr3t-\u{1F511}'],
    ['a control character', 'key-s3cr3t\u0001'],
    ['DEL', 'key-s3cr3t\u007f'],
    ['a line separator', 'key-s3cr3t\u2028'],
    ['a carriage return', 'key-s3cr3t\r'],
  ])('are refused at bootstrap: %s, naming the header and never the value', (_, value) => {
    const error = configError(() =>
      resolveAuditAlertOptions({ channels: [{ type: 'webhook', url: WEBHOOK, headers: { 'x-api-key': value } }] }),
    );
    expect(error.option).toBe('channels[0].headers["x-api-key"]');
    expect(error.message).not.toContain('s3cr3t');
    expect(error.message).toContain('fetch can send');
  });

  it('fetch itself refuses the characters beyond Latin-1, which is why they are caught first', () => {
    expect(() => new Headers([['x-api-key', 'Bearer t\u20acken']])).toThrow(/ByteString/);
    expect(() => new Headers([['x-api-key', 'caf\u00e9']])).not.toThrow();
  });

  it('a Latin-1 value, and headers given as a Map, reach a real receiver', async () => {
    const receiver = await apps.receiver();
    const { monitor } = await apps.boot({
      thresholdMs: 0,
      channels: [
        {
          type: 'webhook',
          url: receiver.url('/hook'),
          headers: new Map([['x-tenant', 'caf\u00e9']]) as unknown as Record<string, string>,
        },
      ],
    });
    monitor.recordFailure(new Error('down'));
    await receiver.waitForRequests(1);
    expect(Buffer.from(receiver.requests[0]!.headers['x-tenant'] as string, 'latin1').toString('latin1')).toBe(
      'caf\u00e9',
    );
  });
});

describe('"__proto__", "constructor", "prototype" and inherited properties', () => {
  it('forRoot() refuses a "__proto__" key before Nest copies the options into a prototype', () => {
    const error = configError(() =>
      AuditAlertModule.forRoot(JSON.parse('{"thresholdMs":0,"__proto__":{"enabled":false}}')),
    );
    expect(error.option).toBe('__proto__');
    expect(error.message).toContain('Unknown audit alert option "__proto__"');
  });

  it('forRootAsync() refuses it at bootstrap', async () => {
    const moduleRef = Test.createTestingModule({
      imports: [
        AuditAlertModule.forRootAsync({
          useFactory: () => JSON.parse('{"thresholdMs":0,"__proto__":{"enabled":false}}') as AuditAlertModuleOptions,
        }),
      ],
    });
    await expect(moduleRef.compile()).rejects.toThrow('Unknown audit alert option "__proto__"');
  });

  it.each([
    [
      'a channel',
      '{"channels":[{"type":"webhook","url":"https://hooks.example/a","constructor":1}]}',
      'channels[0].constructor',
    ],
    ['a monitor', '{"monitors":[{"name":"a","prototype":{}}]}', 'monitors[0].prototype'],
    [
      'the headers',
      '{"channels":[{"type":"webhook","url":"https://hooks.example/a","headers":{"__proto__":"x"}}]}',
      'channels[0].headers["__proto__"]',
    ],
  ])('are refused in %s', (_, json, path) => {
    expect(configError(() => resolveAuditAlertOptions(JSON.parse(json))).option).toBe(path);
  });

  it('options are read from own properties only: a polluted Object.prototype supplies none', () => {
    const polluted = Object.prototype as Record<string, unknown>;
    polluted.url = 'http://127.0.0.1:9/steal';
    polluted.enabled = false;
    polluted.headers = { 'x-leak': 'yes' };
    try {
      const options = resolveAuditAlertOptions({
        channels: [
          { type: 'pagerduty', routingKey: 'R0UTING' },
          { type: 'webhook', url: WEBHOOK },
        ],
      });
      const [pagerduty, webhook] = options.channels;
      expect(pagerduty!.type === 'pagerduty' && pagerduty.url).toBe(PAGERDUTY_EVENTS_URL);
      expect(options.monitors[0]!.enabled).toBe(true);
      expect(webhook!.type === 'webhook' && webhook.headers).toEqual({});
    } finally {
      delete polluted.url;
      delete polluted.enabled;
      delete polluted.headers;
    }
  });
});

describe('smaller gaps', () => {
  it('a sparse channels array is refused with a config error naming the hole', () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    const error = configError(() => resolveAuditAlertOptions({ channels: [, { type: 'webhook', url: WEBHOOK }] }));
    expect(error.option).toBe('channels[0]');
  });

  it('a sparse monitors array too', () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    expect(configError(() => resolveAuditAlertOptions({ monitors: [{ name: 'a' }, , { name: 'b' }] })).option).toBe(
      'monitors[1]',
    );
  });

  it('headers of another class than a plain object, a Map or Headers are refused rather than dropped', () => {
    const error = configError(() =>
      resolveAuditAlertOptions({ channels: [{ type: 'webhook', url: WEBHOOK, headers: new Set(['x']) as never }] }),
    );
    expect(error.option).toBe('channels[0].headers');
  });

  it('probeWhileHealthy without a probe is refused, at the level it was given', () => {
    expect(configError(() => resolveAuditAlertOptions({ probeWhileHealthy: true })).option).toBe('probeWhileHealthy');
    expect(
      configError(() => resolveAuditAlertOptions({ monitors: [{ name: 'a', probeWhileHealthy: true }] })).option,
    ).toBe('monitors[0].probeWhileHealthy');
    const probe = { check: async () => undefined };
    expect(() => resolveAuditAlertOptions({ probeWhileHealthy: true, monitors: [{ name: 'a', probe }] })).not.toThrow();
  });

  it("serviceName is capped at 255 characters, and the bodies stay within the receivers' limits", () => {
    expect(configError(() => resolveAuditAlertOptions({ serviceName: 'x'.repeat(1024 * 1024) })).option).toBe(
      'serviceName',
    );
    const serviceName = 'x'.repeat(255);
    expect(resolveAuditAlertOptions({ serviceName }).serviceName).toBe(serviceName);
    const event: StorageUnreachableEvent = {
      type: 'audit.storage.unreachable',
      outageId: '5f0c6a6e-3c1b-4d8e-9a57-2f8d7c1e0b9a',
      monitor: 'm'.repeat(64),
      serviceName,
      firstFailureAt: new Date(0),
      consecutiveFailures: 1,
      unreachableDurationMs: 1,
      lastError: 'e'.repeat(1024),
      occurrence: 1,
    } as StorageUnreachableEvent;
    // PagerDuty Events API v2: 512 KB per event, 1,024 characters of summary.
    const trigger = pagerDutyEvent(event, 'R0UTING', 'critical') as { payload: { summary: string } };
    expect(Buffer.byteLength(JSON.stringify(trigger))).toBeLessThan(512 * 1024);
    expect(trigger.payload.summary.length).toBeLessThanOrEqual(1024);
    // Slack: 3,000 characters per section text, 150 per header.
    for (const block of slackMessage(event).blocks as { type: string; text?: { text: string } }[]) {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(block.type === 'header' ? 150 : 3_000);
    }
  });

  it('durations in events are whole milliseconds', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 0 });
    monitor.recordFailure(new Error('down'));
    clock.advance(3_000.154248);
    monitor.recordSuccess();
    expect(events.map((e) => (e as { outageDurationMs?: number }).outageDurationMs)).toEqual([undefined, 3_000]);
    const { events: later, clock: c2, monitor: m2 } = monitorHarness({ thresholdMs: 1_000.5 });
    m2.recordFailure(new Error('down'));
    c2.advance(1_000.6);
    expect((later[0] as StorageUnreachableEvent).unreachableDurationMs).toBe(1_001);
  });
});

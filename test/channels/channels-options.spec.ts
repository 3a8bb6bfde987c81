import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { sendsInClearText } from '../../src/channels/channels.options.js';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertModule,
  type AuditAlertModuleOptions,
} from '../../src/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { CaptureLogger } from '../support/capture-logger.js';

const SLACK_URL = 'https://hooks.slack.com/services/T0SECRET/B0SECRET/x0secretx0secretx0secret';
const TEAMS_URL =
  'https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=S1GSECRET';
const ROUTING_KEY = 'R0UTINGKEYSECRET0123456789abcdef';

function rejectionOf(channels: unknown): AuditAlertConfigError {
  try {
    resolveAuditAlertOptions({ channels });
  } catch (error) {
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    return error as AuditAlertConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(channels)}`);
}

describe('the channels option', () => {
  it('defaults to no channel', () => {
    expect(resolveAuditAlertOptions({}).channels).toEqual([]);
  });

  it('fills in the defaults of every channel type', () => {
    const { channels } = resolveAuditAlertOptions({
      channels: [
        { type: 'webhook', url: 'https://alerts.example.com/audit?token=abc' },
        { type: 'slack', url: SLACK_URL },
        { type: 'teams', url: TEAMS_URL },
        { type: 'pagerduty', routingKey: ROUTING_KEY },
      ],
    });
    const delivery = {
      events: [
        'audit.storage.unreachable',
        'audit.storage.degraded',
        'audit.storage.recovered',
        'audit.storage.capacity',
        'audit.records.rejected',
        'audit.alert.test',
        'audit.alert.test.failed',
        'audit.spool.unwritable',
        'audit.spool.replayed',
        'audit.spool.quarantined',
        'audit.ledger.broken',
        'audit.alert.acknowledged',
      ],
      monitors: null,
      fromOccurrence: 1,
      timeoutMs: 10_000,
      retries: 3,
      backoffMs: 1_000,
    };
    expect(channels).toEqual([
      {
        type: 'webhook',
        ...delivery,
        url: 'https://alerts.example.com/audit?token=abc',
        headers: {},
        body: null,
        signingSecrets: [],
      },
      { type: 'slack', ...delivery, url: SLACK_URL, summary: null },
      // The default port is dropped, as URL normalises it.
      { type: 'teams', ...delivery, url: new URL(TEAMS_URL).href, summary: null },
      {
        type: 'pagerduty',
        ...delivery,
        url: 'https://events.pagerduty.com/v2/enqueue',
        routingKey: ROUTING_KEY,
        severity: 'critical',
        degradedSeverity: 'warning',
        summary: null,
      },
    ]);
  });

  it('keeps what is given', () => {
    const summary = (): string => 'custom';
    const [channel] = resolveAuditAlertOptions({
      monitors: [{ name: 'orders' }, { name: 'ledger' }],
      channels: [
        {
          type: 'pagerduty',
          routingKey: ROUTING_KEY,
          severity: 'warning',
          degradedSeverity: 'info',
          url: 'http://127.0.0.1:8080/v2/enqueue',
          events: ['audit.storage.unreachable', 'audit.storage.unreachable'],
          monitors: ['ledger'],
          fromOccurrence: 2,
          timeoutMs: 50,
          retries: 0,
          backoffMs: 0,
          summary,
        },
      ],
    }).channels;
    expect(channel).toEqual({
      type: 'pagerduty',
      routingKey: ROUTING_KEY,
      severity: 'warning',
      degradedSeverity: 'info',
      url: 'http://127.0.0.1:8080/v2/enqueue',
      events: ['audit.storage.unreachable'],
      monitors: new Set(['ledger']),
      fromOccurrence: 2,
      timeoutMs: 50,
      retries: 0,
      backoffMs: 0,
      summary,
    });
  });

  it('stops the bootstrap on a channel routed to a monitor that does not exist', () => {
    expect(() =>
      resolveAuditAlertOptions({
        monitors: [{ name: 'orders' }, { name: 'ledger' }],
        channels: [{ type: 'slack', url: SLACK_URL, monitors: ['orders', 'ledgre'] }],
      }),
    ).toThrow(
      new AuditAlertConfigError(
        `Invalid audit alert option "channels[0].monitors": received [ 'orders', 'ledgre' ]; expected a non-empty array of monitor names: 'orders', 'ledger'.`,
        'channels[0].monitors',
      ),
    );
  });

  // [channels, path named, what the message must say]
  const bad: readonly [string, unknown, string, RegExp][] = [
    ['not an array', { type: 'slack', url: SLACK_URL }, 'channels', /received an object .*expected an array/],
    ['an entry that is a bare URL', [SLACK_URL], 'channels[0]', /received a string of \d+ characters/],
    [
      'an unknown type',
      [{ type: 'carrier-pigeon', url: SLACK_URL }],
      'channels[0].type',
      /received 'carrier-pigeon'; expected one of 'webhook', 'slack', 'teams', 'pagerduty'/,
    ],
    ['no type', [{ url: SLACK_URL }], 'channels[0].type', /received undefined/],
    [
      'an unknown key',
      [{ type: 'slack', url: SLACK_URL, channel: '#ops' }],
      'channels[0].channel',
      /the options are: type, events, monitors, fromOccurrence, timeoutMs, retries, backoffMs, url/,
    ],
    [
      'a key of another type',
      [{ type: 'slack', url: SLACK_URL, routingKey: ROUTING_KEY }],
      'channels[0].routingKey',
      /Unknown/,
    ],
    [
      'no URL',
      [{ type: 'webhook' }],
      'channels[0].url',
      /received undefined .*expected an absolute http:\/\/ or https:\/\/ URL/,
    ],
    [
      'a malformed URL',
      [{ type: 'webhook', url: 'hooks.slack.com/services/T0SECRET' }],
      'channels[0].url',
      /not an absolute URL/,
    ],
    [
      'a URL that is not a string',
      [{ type: 'slack', url: new URL(SLACK_URL) }],
      'channels[0].url',
      /received an object/,
    ],
    [
      'a non-http(s) scheme',
      [{ type: 'slack', url: 'ftp://hooks.slack.com/T0SECRET' }],
      'channels[0].url',
      /the scheme "ftp:"/,
    ],
    [
      'a javascript: URL',
      [{ type: 'webhook', url: 'javascript:alert(1)' }],
      'channels[0].url',
      /the scheme "javascript:"/,
    ],
    [
      'credentials in the URL',
      [{ type: 'webhook', url: 'https://user:secret@alerts.example.com/' }],
      'channels[0].url',
      /user information/,
    ],
    [
      'an empty routing key',
      [{ type: 'pagerduty', routingKey: '' }],
      'channels[0].routingKey',
      /received an empty string/,
    ],
    [
      'a blank routing key',
      [{ type: 'pagerduty', routingKey: '   ' }],
      'channels[0].routingKey',
      /received a string of 3 characters/,
    ],
    ['no routing key', [{ type: 'pagerduty' }], 'channels[0].routingKey', /received undefined/],
    [
      'a bad PagerDuty URL',
      [{ type: 'pagerduty', routingKey: ROUTING_KEY, url: 'events.pagerduty.com' }],
      'channels[0].url',
      /not an absolute URL/,
    ],
    [
      'an unknown severity',
      [{ type: 'pagerduty', routingKey: ROUTING_KEY, severity: 'high' }],
      'channels[0].severity',
      /received 'high'; expected one of 'critical', 'error', 'warning', 'info'/,
    ],
    [
      'headers that are not an object',
      [{ type: 'webhook', url: SLACK_URL, headers: ['authorization: x'] }],
      'channels[0].headers',
      /received an array of 1 items/,
    ],
    [
      'a header value that is not a string',
      [{ type: 'webhook', url: SLACK_URL, headers: { 'x-api-key': 12345 } }],
      'channels[0].headers["x-api-key"]',
      /received a number/,
    ],
    [
      'a header value with a line break',
      [{ type: 'webhook', url: SLACK_URL, headers: { authorization: 'Bearer a\r\nx: y' } }],
      'channels[0].headers["authorization"]',
      /without control characters, which fetch can send/,
    ],
    [
      'a header name that is not a token',
      [{ type: 'webhook', url: SLACK_URL, headers: { 'x token': 'v' } }],
      'channels[0].headers["x token"]',
      /received 'x token'/,
    ],
    [
      'a header HTTP manages',
      [{ type: 'webhook', url: SLACK_URL, headers: { Host: 'elsewhere' } }],
      'channels[0].headers["Host"]',
      /a header other than/,
    ],
    [
      'events that are not known',
      [{ type: 'slack', url: SLACK_URL, events: ['audit.storage.degrade'] }],
      'channels[0].events',
      /received \[ 'audit.storage.degrade' \]/,
    ],
    ['no event at all', [{ type: 'slack', url: SLACK_URL, events: [] }], 'channels[0].events', /a non-empty array/],
    [
      'an unknown monitor',
      [{ type: 'pagerduty', routingKey: ROUTING_KEY, monitors: ['ledger'] }],
      'channels[0].monitors',
      /received \[ 'ledger' \]; expected a non-empty array of monitor names: 'default'/,
    ],
    ['no monitor at all', [{ type: 'slack', url: SLACK_URL, monitors: [] }], 'channels[0].monitors', /received \[\]/],
    [
      'monitors as a string',
      [{ type: 'slack', url: SLACK_URL, monitors: 'default' }],
      'channels[0].monitors',
      /'default'/,
    ],
    [
      'a fromOccurrence of 0',
      [{ type: 'slack', url: SLACK_URL, fromOccurrence: 0 }],
      'channels[0].fromOccurrence',
      /received 0; expected a whole number from 1/,
    ],
    [
      'a fractional fromOccurrence',
      [{ type: 'slack', url: SLACK_URL, fromOccurrence: 1.5 }],
      'channels[0].fromOccurrence',
      /received 1.5/,
    ],
    [
      'a body that is a template string',
      [{ type: 'webhook', url: SLACK_URL, body: '{"text":"x"}' }],
      'channels[0].body',
      /expected a function of the event/,
    ],
    [
      'a summary that is a string',
      [{ type: 'slack', url: SLACK_URL, summary: 'Audit down' }],
      'channels[0].summary',
      /received 'Audit down'; expected a function of the event/,
    ],
    [
      'a summary on a webhook',
      [{ type: 'webhook', url: SLACK_URL, summary: () => 'x' }],
      'channels[0].summary',
      /Unknown audit alert option/,
    ],
    [
      'a negative timeout',
      [{ type: 'slack', url: SLACK_URL, timeoutMs: -1 }],
      'channels[0].timeoutMs',
      /received -1; expected a finite number of milliseconds from 1/,
    ],
    ['a zero timeout', [{ type: 'slack', url: SLACK_URL, timeoutMs: 0 }], 'channels[0].timeoutMs', /received 0/],
    [
      'a NaN backoff',
      [{ type: 'slack', url: SLACK_URL, backoffMs: Number.NaN }],
      'channels[0].backoffMs',
      /received NaN/,
    ],
    [
      'an infinite backoff',
      [{ type: 'slack', url: SLACK_URL, backoffMs: Infinity }],
      'channels[0].backoffMs',
      /received Infinity/,
    ],
    [
      'fractional retries',
      [{ type: 'slack', url: SLACK_URL, retries: 1.5 }],
      'channels[0].retries',
      /received 1.5; expected a whole number from 0 to 10/,
    ],
    ['too many retries', [{ type: 'slack', url: SLACK_URL, retries: 11 }], 'channels[0].retries', /received 11/],
    ['retries as a string', [{ type: 'slack', url: SLACK_URL, retries: '3' }], 'channels[0].retries', /received '3'/],
    [
      'a second channel that is wrong',
      [
        { type: 'slack', url: SLACK_URL },
        { type: 'webhook', url: 'mailto:ops@example.com' },
      ],
      'channels[1].url',
      /the scheme "mailto:"/,
    ],
    ['an entry that is null', [null], 'channels[0]', /received null/],
  ];

  it.each(bad)('rejects %s, naming %p', (_what, channels, path, message) => {
    const error = rejectionOf(channels);
    expect(error.option).toBe(path);
    expect(error.message).toContain(`"${path}"`);
    expect(error.message).toMatch(message);
  });

  it('never quotes a URL, a routing key or a header value in its errors', () => {
    const secrets = [
      [{ type: 'slack', url: 'hooks.slack.com/services/T0SECRET/B0SECRET/x0secret' }],
      [{ type: 'slack', url: 'ftp://hooks.slack.com/services/T0SECRET/B0SECRET/x0secret' }],
      [{ type: 'webhook', url: 'https://user:s3cretpass@alerts.example.com/' }],
      [{ type: 'webhook', url: SLACK_URL, headers: { authorization: 'Bearer t0ken-SECRET\n' } }],
      [{ type: 'webhook', url: SLACK_URL, headers: { authorization: ['Bearer t0ken-SECRET'] } }],
      [{ type: 'pagerduty', routingKey: { key: ROUTING_KEY } }],
      [{ type: 'teams', url: TEAMS_URL.replace('https:', 'ftp:') }],
      [SLACK_URL],
      { type: 'slack', url: SLACK_URL },
    ];
    for (const channels of secrets) {
      const { message } = rejectionOf(channels);
      expect(message).toContain('content not shown');
      expect(message).not.toMatch(/T0SECRET|x0secret|s3cret|t0ken|R0UTING|S1GSECRET|workflows/);
    }
  });

  it('stops the bootstrap with the same error', async () => {
    const building = Test.createTestingModule({
      imports: [AuditAlertModule.forRoot({ channels: [{ type: 'slack', url: 'ftp://hooks.slack.com/x' }] })],
    }).compile();
    await expect(building).rejects.toThrow(AuditAlertConfigError);
    await expect(building).rejects.toThrow('"channels[0].url"');
  });

  it('stops a forRootAsync bootstrap too', async () => {
    const building = Test.createTestingModule({
      imports: [
        AuditAlertModule.forRootAsync({
          useFactory: () => ({ channels: [{ type: 'pagerduty', routingKey: '' }] }) as AuditAlertModuleOptions,
        }),
      ],
    }).compile();
    await expect(building).rejects.toThrow('"channels[0].routingKey"');
  });
});

describe('plain http to another machine', () => {
  it('is told apart from https and from loopback', () => {
    expect(sendsInClearText('http://alerts.example.com/hook')).toBe(true);
    expect(sendsInClearText('http://10.0.0.7:8080/hook')).toBe(true);
    expect(sendsInClearText('http://[2001:db8::1]/hook')).toBe(true);
    expect(sendsInClearText('http://128.0.0.1/hook')).toBe(true);
    expect(sendsInClearText('http://localhost.example.com/hook')).toBe(true);
    expect(sendsInClearText('https://alerts.example.com/hook')).toBe(false);
    expect(sendsInClearText('http://127.0.0.1:9000/hook')).toBe(false);
    expect(sendsInClearText('http://127.12.0.3/hook')).toBe(false);
    expect(sendsInClearText('http://localhost:3000/hook')).toBe(false);
    expect(sendsInClearText('http://LOCALHOST/hook')).toBe(false);
    expect(sendsInClearText('http://[::1]:3000/hook')).toBe(false);
  });

  it('draws a warning at bootstrap, naming only the origin, and does not stop it', async () => {
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuditAlertModule.forRoot({
          channels: [
            { type: 'webhook', url: 'http://alerts.example.com:8080/hooks/T0SECRET?token=secret' },
            { type: 'slack', url: 'http://127.0.0.1:9/services/T0SECRET' },
            { type: 'pagerduty', routingKey: ROUTING_KEY, url: 'http://localhost:9/v2/enqueue' },
          ],
        }),
      ],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(new ManualClock())
      .compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    await app.close();
    expect(logger.at('warn')).toEqual([
      'Webhook channel (http://alerts.example.com:8080) sends alerts over plain http:// to another machine; ' +
        'use https:// so they cannot be read or altered on the way. AuditAlert',
    ]);
    expect(logger.text()).not.toMatch(/T0SECRET|token|R0UTING|hooks|services|enqueue/);
  });
});

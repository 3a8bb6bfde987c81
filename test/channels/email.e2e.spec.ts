import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { emailMessageId, emailThreadId, smtpOutcome } from '../../src/channels/email.channel.js';
import { renderEmail } from '../../src/channels/email-message.js';
import {
  AuditAlertConfigError,
  type AuditAlertEmailMessage,
  type AuditAlertModuleOptions,
  AuditMonitorRegistry,
} from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { type BootedApp, ChannelApps, settle, waitForTimers } from './support/channel-app.js';
import { SmtpReceiver } from './support/smtp-receiver.js';

const SERVICE = 'billing-api';
const USER = 'alerts@billing.example';
const PASSWORD = 'Sm7pPASSW0RD-secret';
const FROM = '"Audit alerts" <alerts@billing.example>';
const TO = 'oncall@example.com';

expectNoUnhandledRejections();

const apps = new ChannelApps();
const receivers: SmtpReceiver[] = [];
afterEach(async () => {
  await apps.dispose();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function smtp(): Promise<SmtpReceiver> {
  const receiver = await SmtpReceiver.start({ user: USER, pass: PASSWORD });
  receivers.push(receiver);
  return receiver;
}

/** An email channel to `receiver`: STARTTLS required, AUTH, the test certificate trusted. */
function emailChannel(
  receiver: SmtpReceiver,
  extra: Record<string, unknown> = {},
): AuditAlertModuleOptions['channels'] {
  return [
    {
      type: 'email',
      from: FROM,
      to: [TO],
      cc: 'audit@example.com',
      transport: {
        host: '127.0.0.1',
        port: receiver.port,
        requireTLS: true,
        auth: { user: USER, pass: PASSWORD },
        tls: { ca: receiver.certificate.cert },
      },
      backoffMs: 1_000,
      ...extra,
    },
  ];
}

const boot = (options: AuditAlertModuleOptions): Promise<BootedApp> => apps.boot({ serviceName: SERVICE, ...options });

/** Waits longer than waitFor: an SMTP dialogue with STARTTLS takes a few hundred milliseconds on a busy machine. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const references = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : value.split(/\s+/);

describe('the email channel against a real SMTP server (STARTTLS, AUTH)', () => {
  it('sends the alert, its repeat and its recovery as one thread, each with a text and an HTML part', async () => {
    const receiver = await smtp();
    const { monitor, clock, logger } = await boot({
      thresholdMs: 10_000,
      cooldownMs: 60_000,
      channels: emailChannel(receiver),
    });

    monitor.recordFailure(new Error('connect ECONNREFUSED <script>alert(1)</script> & "db"'));
    clock.advance(10_000);
    const outageId = monitor.getStatus().outageId!;
    await eventually(() => receiver.mails.length === 1, 'the alert');
    clock.advance(60_000);
    monitor.recordFailure(new Error('still <down>'));
    await eventually(() => receiver.mails.length === 2, 'the repeat');
    monitor.recordSuccess();
    await eventually(() => receiver.mails.length === 3, 'the recovery');

    const [alert, repeat, recovery] = receiver.mails.map((mail) => mail.parsed);
    // Over STARTTLS, logged in.
    expect(receiver.mails.map((mail) => [mail.secure, mail.user])).toEqual([
      [true, USER],
      [true, USER],
      [true, USER],
    ]);
    expect(alert!.from!.text).toBe(FROM);
    expect(alert!.to).toMatchObject({ text: TO });
    expect(alert!.cc).toMatchObject({ text: 'audit@example.com' });

    expect(alert!.subject).toBe('[billing-api] Audit storage unreachable for 10s (monitor default)');
    expect(repeat!.subject).toBe(
      '[billing-api] Audit storage unreachable for 1m 10s (monitor default), 2nd alert, still failing',
    );
    expect(recovery!.subject).toBe('[billing-api] Audit storage recovered after 1m 10s (monitor default)');

    // Threading: every message names the outage's thread; the repeat and the recovery answer the first alert.
    const thread = `<${outageId}@nestjs-audit-alert>`;
    const first = `<${outageId}.storage-unreachable-1@nestjs-audit-alert>`;
    expect(alert!.messageId).toBe(first);
    expect(alert!.inReplyTo).toBeUndefined();
    expect(references(alert!.references)).toEqual([thread]);
    expect(repeat!.messageId).toBe(`<${outageId}.storage-unreachable-2@nestjs-audit-alert>`);
    expect(repeat!.inReplyTo).toBe(first);
    expect(references(repeat!.references)).toEqual([thread, first]);
    expect(recovery!.messageId).toBe(`<${outageId}.storage-recovered@nestjs-audit-alert>`);
    expect(recovery!.inReplyTo).toBe(first);
    expect(references(recovery!.references)).toEqual([thread, first]);

    // Both parts; the error as it is in text, escaped in HTML.
    expect(alert!.text).toContain('Audit storage unreachable');
    expect(alert!.text).toContain('connect ECONNREFUSED <script>alert(1)</script> & "db"');
    expect(alert!.text).toMatch(new RegExp(`\nOutage: +${outageId}\n`));
    expect(alert!.html).toContain('connect ECONNREFUSED &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;db&quot;');
    expect(alert!.html).not.toContain('<script>');
    expect(recovery!.text).toContain('billing-api is writing its audit trail again. The outage lasted 1m 10s');
    expect(recovery!.html).toContain('Audit storage recovered');

    await eventually(
      () => logger.of('log').filter((line) => line.startsWith('Email channel')).length === 3,
      'the log lines',
    );
    expect(logger.of('log').filter((line) => line.startsWith('Email channel'))[0]).toBe(
      `Email channel (127.0.0.1:${receiver.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
    );
    expect(logger.text()).not.toContain(PASSWORD);
  });

  it('retries a 451 on the clock, for the refused recipient alone, and delivers', async () => {
    const receiver = await smtp();
    receiver.reply({ stage: 'rcpt', responseCode: 451, message: 'Try again later' });
    const { monitor, clock, logger } = await boot({ thresholdMs: 0, channels: emailChannel(receiver) });

    monitor.recordFailure(new Error('down'));
    await eventually(() => logger.of('warn').some((line) => line.includes('SMTP reply 451')), 'the retry');
    await waitForTimers(clock);
    // The copy recipient took it; the refused one gets it on the retry, alone.
    expect(receiver.mails).toHaveLength(1);
    expect(logger.of('warn')).toContainEqual(
      `Email channel (127.0.0.1:${receiver.port}): attempt 1 to send audit.storage.unreachable failed (SMTP reply 451 for 1 of 2 recipients); retrying in 500 ms.`,
    );
    clock.advance(500);
    await eventually(() => receiver.mails.length === 2, 'the retried alert');
    expect(receiver.recipients).toEqual([TO, 'audit@example.com', TO]);
    expect(receiver.mails[1]!.parsed.messageId).toBe(receiver.mails[0]!.parsed.messageId);
    await eventually(() => logger.of('log').some((line) => line.includes('in 2 attempts.')), 'the log line');
    expect(logger.text()).not.toContain(PASSWORD);
  });

  it('does not retry a 550, and says so', async () => {
    const receiver = await smtp();
    receiver.reply({ stage: 'data', responseCode: 550, message: 'Rejected: policy' });
    const { monitor, logger } = await boot({ thresholdMs: 0, channels: emailChannel(receiver) });

    monitor.recordFailure(new Error('down'));
    await eventually(() => logger.of('error').length > 0, 'the failure');
    await settle();
    expect(receiver.mails).toHaveLength(0);
    // One attempt: each recipient once.
    expect(receiver.recipients).toEqual([TO, 'audit@example.com']);
    expect(logger.of('error').join('\n')).toContain('the receiver answered SMTP reply 550; not retried');
    expect(logger.of('warn').join('\n')).not.toContain('retrying');
    expect(logger.text()).not.toContain(PASSWORD);
  });

  it('gives up on a wrong password without retrying, and never shows the password', async () => {
    const receiver = await smtp();
    const channels = emailChannel(receiver);
    (channels![0] as { transport: { auth: { pass: string } } }).transport.auth.pass = 'Wr0ngPASSW0RD';
    const { monitor, logger } = await boot({ thresholdMs: 0, channels });

    monitor.recordFailure(new Error('down'));
    await eventually(() => logger.of('error').length > 0, 'the failure');
    expect(receiver.logins).toHaveLength(1);
    expect(logger.of('error').join('\n')).toMatch(/SMTP reply 535; not retried/);
    expect(logger.text()).not.toContain('Wr0ngPASSW0RD');
  });

  it('sends a test alert', async () => {
    const receiver = await smtp();
    const { app } = await boot({ thresholdMs: 0, channels: emailChannel(receiver) });
    const results = await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(results).toEqual([
      { recipient: `Email channel (127.0.0.1:${receiver.port})`, delivered: true, attempts: 1 },
    ]);
    expect(receiver.mails[0]!.parsed.subject).toBe('[billing-api] Test alert, nothing is wrong (monitor default)');
  });
});

describe('the email channel with a transporter of the application', () => {
  it('hands it the message: threading headers, both parts, the custom subject on one line', async () => {
    const sent: AuditAlertEmailMessage[] = [];
    const transporter = { sendMail: async (message: AuditAlertEmailMessage) => void sent.push(message) };
    const { monitor, logger } = await boot({
      thresholdMs: 0,
      channels: [
        {
          type: 'email',
          from: 'alerts@example.com',
          to: 'oncall@example.com',
          transport: transporter,
          summary: (event) => `AU-5 ${event.type}\r\nBcc: attacker@example.com`,
        },
      ],
    });
    monitor.recordFailure(new Error('down'));
    monitor.recordSuccess();
    await eventually(() => sent.length === 2, 'two messages');
    expect(sent[0]).toMatchObject({
      from: 'alerts@example.com',
      to: ['oncall@example.com'],
      subject: 'AU-5 audit.storage.unreachable Bcc: attacker@example.com',
    });
    expect(sent[0]!.cc).toBeUndefined();
    expect(sent[1]!.inReplyTo).toBe(sent[0]!.messageId);
    expect(logger.of('warn')).toEqual([]);
  });

  it("lists the monitor's links under each message, escaped in the HTML part", async () => {
    const sent: AuditAlertEmailMessage[] = [];
    const transporter = { sendMail: async (message: AuditAlertEmailMessage) => void sent.push(message) };
    const { monitor } = await boot({
      thresholdMs: 0,
      links: [
        { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' },
        { text: 'Dash <board> & "more"', url: 'https://grafana.example.com/d/audit?orgId=1&from=now-1h' },
      ],
      channels: [{ type: 'email', from: 'alerts@example.com', to: 'oncall@example.com', transport: transporter }],
    });
    monitor.recordFailure(new Error('down'));
    await eventually(() => sent.length === 1, 'the message');
    expect(sent[0]!.text).toContain(
      'Links:\n    Runbook: https://wiki.example.com/runbooks/audit\n' +
        '    Dash <board> & "more": https://grafana.example.com/d/audit?orgId=1&from=now-1h\n',
    );
    expect(sent[0]!.html).toContain(
      '<a href="https://wiki.example.com/runbooks/audit">Runbook</a> &middot; ' +
        '<a href="https://grafana.example.com/d/audit?orgId=1&amp;from=now-1h">Dash &lt;board&gt; &amp; &quot;more&quot;</a>',
    );
  });

  it('retries a rejection with a 4xx responseCode, not one with a 5xx', () => {
    expect(smtpOutcome(Object.assign(new Error('x'), { responseCode: 421, code: 'EENVELOPE' }))).toEqual({
      kind: 'retry',
      reason: 'SMTP reply 421',
      retryAfterMs: null,
    });
    expect(smtpOutcome(Object.assign(new Error('x'), { responseCode: 554 }))).toEqual({
      kind: 'rejected',
      reason: 'SMTP reply 554',
    });
    expect(smtpOutcome(Object.assign(new Error('x'), { code: 'ECONNECTION' }))).toEqual({
      kind: 'retry',
      reason: 'SMTP error ECONNECTION',
      retryAfterMs: null,
    });
    expect(smtpOutcome(Object.assign(new Error('x'), { code: 'EAUTH' }))).toEqual({
      kind: 'rejected',
      reason: 'SMTP error EAUTH',
    });
  });
});

describe('email messages', () => {
  const base = { outageId: 'o-1', monitor: 'default', serviceName: SERVICE };
  const at = new Date('2026-01-01T12:00:00.000Z');
  it.each([
    [
      'audit.storage.degraded',
      {
        failureRatio: 0.95,
        writes: 400,
        failures: 380,
        windowMs: 30_000,
        lastError: 'e',
        firstFailureAt: at,
        occurrence: 2,
      },
      '[billing-api] Audit storage degraded: 95 % of writes failing (monitor default), 2nd alert, still degraded',
    ],
    [
      'audit.storage.capacity',
      {
        level: 'critical',
        previousLevel: 'warning',
        usedRatio: 0.97,
        used: 97,
        total: 100,
        threshold: 0.95,
        occurrence: 1,
        checkedAt: at,
      },
      '[billing-api] Audit storage nearly full: 97 % used (monitor default)',
    ],
    [
      'audit.records.rejected',
      { firstRejectedAt: at, rejectedRecords: 3, rejectedDurationMs: 1_000, lastError: 'e', occurrence: 1 },
      '[billing-api] Audit records rejected: 3 records lost (monitor default)',
    ],
    [
      'audit.spool.unwritable',
      { lastError: 'e', recordsLost: 2, failedAt: at },
      '[billing-api] Audit spool unwritable (monitor default)',
    ],
    [
      'audit.spool.replayed',
      { recordsReplayed: 57, replayedAt: at },
      '[billing-api] Audit spool replayed: 57 spooled audit records (monitor default)',
    ],
  ])('render %s with a subject saying the state', (type, fields, subject) => {
    const event = { type, ...base, ...fields } as never;
    const email = renderEmail(event);
    expect(email.subject).toBe(subject);
    expect(email.html).toContain('<!doctype html>');
    expect(email.text).toContain('Service:');
    expect(emailMessageId(event)).toMatch(/^<o-1\.[a-z0-9-]+@nestjs-audit-alert>$/);
    expect(emailThreadId(event)).toBe('<o-1@nestjs-audit-alert>');
  });
});

describe('email options', () => {
  const transport = {
    host: 'smtp.example.com',
    port: 587,
    requireTLS: true,
    auth: { user: 'u', pass: 'P4SSWORDVALUE' },
  };
  const rejection = (channel: Record<string, unknown>): AuditAlertConfigError => {
    try {
      resolveAuditAlertOptions({
        channels: [{ type: 'email', from: 'a@example.com', to: 'b@example.com', transport, ...channel }],
      });
    } catch (error) {
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as Error).message).not.toContain('P4SSWORDVALUE');
      return error as AuditAlertConfigError;
    }
    throw new Error('accepted');
  };

  it('fill in the port and keep the addresses', () => {
    const { channels } = resolveAuditAlertOptions({
      channels: [
        {
          type: 'email',
          from: 'a@example.com',
          to: ['b@example.com', 'c@example.com'],
          transport: { host: 'smtp.example.com', secure: true },
        },
      ],
    });
    expect(channels[0]).toMatchObject({
      type: 'email',
      to: ['b@example.com', 'c@example.com'],
      cc: [],
      transport: { kind: 'smtp', smtp: { host: 'smtp.example.com', port: 465, secure: true, requireTLS: false } },
    });
  });

  it.each([
    [{ to: [] }, 'channels[0].to'],
    [{ to: 'ops@example.com\r\nBcc: x@example.com' }, 'channels[0].to'],
    [{ from: 'nobody' }, 'channels[0].from'],
    [{ cc: [42] }, 'channels[0].cc[0]'],
    [{ transport: undefined }, 'channels[0].transport'],
    [{ transport: { ...transport, port: 0 } }, 'channels[0].transport.port'],
    [{ transport: { ...transport, host: '' } }, 'channels[0].transport.host'],
    [{ transport: { ...transport, pool: true } }, 'channels[0].transport.pool'],
    [{ transport: { ...transport, auth: { user: 'u', pass: 42 } } }, 'channels[0].transport.auth.pass'],
    [
      { transport: { ...transport, auth: { user: 'u', pass: 'P4SSWORDVALUE', extra: 1 } } },
      'channels[0].transport.auth.extra',
    ],
    [{ url: 'https://example.com' }, 'channels[0].url'],
  ])('reject %p, naming %s', (channel, path) => {
    expect(rejection(channel).option).toBe(path);
  });

  it('warn of SMTP without TLS to another machine, and not with requireTLS', async () => {
    const { logger } = await boot({
      channels: [
        { type: 'email', from: 'a@example.com', to: 'b@example.com', transport: { host: 'smtp.example.com' } },
        {
          type: 'email',
          from: 'a@example.com',
          to: 'b@example.com',
          transport: { host: 'smtp.example.com', requireTLS: true },
        },
      ],
    });
    expect(logger.of('warn')).toEqual([
      'Email channel (smtp.example.com:587) may send alerts, and its SMTP password, in clear text to another machine: set secure: true (port 465) or requireTLS: true.',
    ]);
  });

  it('stop the bootstrap when nodemailer is missing, naming the option and the install command', async () => {
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    await expect(stat(join(repoRoot, 'dist', 'index.js'))).resolves.toBeTruthy(); // built by `npm test` before jest runs
    const fixture = fileURLToPath(new URL('./fixtures/boot-email-without-nodemailer.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', pathToFileURL(join(repoRoot, 'test/support/block-modules.mjs')).href, fixture],
      { env: { ...process.env, BLOCKED_MODULES: 'nodemailer' }, timeout: 30_000 },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'AuditAlertConfigError channels[1].transport',
      'Invalid audit alert option "channels[1].transport": SMTP settings need the nodemailer package, which could not be loaded (ERR_MODULE_NOT_FOUND); install it (npm install nodemailer) or pass a transporter of your own.',
    ]);
  });
});

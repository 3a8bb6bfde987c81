import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { discordMessage, discordRetryAfter, escapeDiscord } from '../../src/channels/discord.channel.js';
import { AuditAlertConfigError } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps, settle, waitForTimers } from './support/channel-app.js';
import { channelContract, problemList } from './support/channel-contract.js';
import type { ReceivedRequest } from './support/http-receiver.js';
import { waitFor } from './support/http-receiver.js';
import { sampleEvents } from './support/sample-events.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

/** Where a Discord webhook keeps its secret: the token, last in the path. */
const DISCORD_PATH = '/api/webhooks/1234567890/D1SCORDT0KENd1scordt0ken';
const SECRETS = /D1SCORDT0KEN|d1scordt0ken|\/api\/webhooks|1234567890/;

/**
 * Checks an execute-webhook body against Discord's embed limits: title 256,
 * description 4,096, at most 25 fields (name 256, value 1,024, both
 * non-empty), footer 2,048, 6,000 characters in all, a color from 0 to
 * 0xFFFFFF, an ISO timestamp; and `allowed_mentions` that parses nothing.
 */
function discordProblems(body: unknown): string[] {
  const { problems, check } = problemList();
  const message = body as { embeds?: Record<string, unknown>[]; allowed_mentions?: unknown };
  check('allowed_mentions', JSON.stringify(message.allowed_mentions) === '{"parse":[]}', 'must parse nothing');
  const unknown = Object.keys(message).filter((key) => !['embeds', 'allowed_mentions'].includes(key));
  check('body', unknown.length === 0, `unknown ${unknown.join(', ')}`);
  check(
    'embeds',
    Array.isArray(message.embeds) && message.embeds.length >= 1 && message.embeds.length <= 10,
    '1 to 10',
  );
  let total = 0;
  for (const embed of message.embeds ?? []) {
    const { title, description, color, fields, footer, timestamp } = embed as Record<string, never>;
    check('title', typeof title === 'string' && (title as string).length <= 256, 'at most 256');
    check('description', typeof description === 'string' && (description as string).length <= 4_096, 'at most 4,096');
    check('color', Number.isInteger(color) && color >= 0 && color <= 0xffffff, `invalid ${String(color)}`);
    check('timestamp', typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp)), 'ISO 8601');
    const text = (footer as { text?: string } | undefined)?.text ?? '';
    check('footer.text', text.length <= 2_048, 'at most 2,048');
    check('fields', Array.isArray(fields) && (fields as unknown[]).length <= 25, 'at most 25');
    total += String(title).length + String(description).length + text.length;
    for (const field of (fields ?? []) as { name: string; value: string; inline?: unknown }[]) {
      check(
        'fields[].name',
        typeof field.name === 'string' && field.name.length > 0 && field.name.length <= 256,
        'name',
      );
      check(
        'fields[].value',
        typeof field.value === 'string' && field.value.length > 0 && field.value.length <= 1_024,
        field.name,
      );
      check('fields[].inline', field.inline === undefined || typeof field.inline === 'boolean', 'a boolean');
      total += field.name.length + field.value.length;
    }
  }
  check('embeds', total <= 6_000, `${total} characters, over 6,000`);
  return problems;
}

const titleOf = (request: ReceivedRequest): string =>
  (JSON.parse(request.body) as { embeds: [{ title: string }] }).embeds[0].title;

describe('the Discord channel', () => {
  channelContract(apps, {
    options: (url) => ({ type: 'discord', url }),
    path: DISCORD_PATH,
    secrets: SECRETS,
    accepted: 204,
    problems: discordProblems,
    kindOf: (request) =>
      titleOf(request).includes('recovered')
        ? 'recovery'
        : titleOf(request).includes('unreachable')
          ? 'alert'
          : 'other',
    testRequests: 1,
  });

  it('posts an embed colored by severity, with the error in a code block and the links, then a green recovery', async () => {
    const discord = await apps.receiver();
    discord.fallback = { status: 204 };
    const { monitor, clock, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      links: [{ text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit_(storage)' }],
      channels: [{ type: 'discord', url: discord.url(DISCORD_PATH) }],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    const outageId = monitor.getStatus().outageId!;
    await discord.waitForRequests(1);
    clock.advance(125_000);
    monitor.recordSuccess();
    await discord.waitForRequests(2);
    const [alert, recovery] = discord.bodies() as { embeds: [Record<string, unknown>] }[];
    expect(alert).toEqual({
      embeds: [
        {
          title: '🚨 Audit storage unreachable',
          description:
            'billing-api has been unable to write its audit trail for 0 ms: 1 failed write since the outage began.',
          color: 0xd93025,
          fields: [
            { name: 'Service', value: 'billing-api', inline: true },
            { name: 'Monitor', value: 'default', inline: true },
            { name: 'Failing since', value: '<t:1767268800:f>', inline: true },
            { name: 'Alert', value: '1st alert', inline: true },
            { name: 'Last error', value: '```\nError: connect ECONNREFUSED 10.0.0.5:5432\n```', inline: false },
            { name: 'Links', value: '[Runbook](https://wiki.example.com/runbooks/audit_%28storage%29)', inline: false },
          ],
          footer: { text: `Outage ${outageId}` },
          timestamp: '2026-01-01T12:00:00.000Z',
        },
      ],
      allowed_mentions: { parse: [] },
    });
    expect(recovery!.embeds[0]).toMatchObject({
      title: '✅ Audit storage recovered',
      color: 0x1e8e3e,
      timestamp: '2026-01-01T12:02:05.000Z',
    });
    for (const body of discord.bodies()) expect(discordProblems(body)).toEqual([]);
    await waitFor(() => logger.of('log').length === 2, 'both deliveries logged');
    expect(logger.of('log')[0]).toBe(
      `Discord channel (http://127.0.0.1:${discord.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
    );
    expect(logger.text()).not.toMatch(SECRETS);
  });

  it("waits for a 429's JSON retry_after (seconds, with a fraction), in preference to its Retry-After header", async () => {
    const discord = await apps.receiver();
    discord.fallback = { status: 204 };
    const limited = (retryAfter: number, header?: string) => ({
      status: 429,
      headers: { 'content-type': 'application/json', ...(header === undefined ? {} : { 'retry-after': header }) },
      body: JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: false }),
    });
    discord.reply(limited(1.5), limited(2.25, '3'));
    const { monitor, clock, logger } = await apps.boot({
      thresholdMs: 0,
      channels: [{ type: 'discord', url: discord.url(DISCORD_PATH) }],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    clock.advance(1_499);
    await settle();
    expect(discord.requests).toHaveLength(1);
    clock.advance(1);
    await discord.waitForRequests(2);
    await waitForTimers(clock);
    clock.advance(2_250);
    await discord.waitForRequests(3);
    expect(logger.of('warn').map((line) => /retrying in (\d+) ms/.exec(line)?.[1])).toEqual(['1500', '2250']);
    expect(logger.text()).not.toMatch(/rate limited/);
    expect(logger.text()).not.toMatch(SECRETS);
  });

  it('reads retry_after only as a non-negative number', () => {
    expect(discordRetryAfter('{"retry_after": 0.3}')).toBe(300);
    expect(discordRetryAfter('{"retry_after": "2"}')).toBeNull();
    expect(discordRetryAfter('{"retry_after": -1}')).toBeNull();
    expect(discordRetryAfter('not json')).toBeNull();
    expect(discordRetryAfter('null')).toBeNull();
  });

  it('lets no text of the event ping anyone or format the message, and keeps every limit', () => {
    const message = discordMessage(
      {
        type: 'audit.storage.unreachable',
        outageId: 'o',
        monitor: 'default',
        serviceName: '@everyone **billing** <@123456>',
        firstFailureAt: new Date('2026-01-01T12:00:00Z'),
        consecutiveFailures: 1,
        unreachableDurationMs: 0,
        lastError: `\`\`\`@here <@&42> ${'e'.repeat(5_000)}`,
        occurrence: 1,
        probeFailures: 0,
      },
      's'.repeat(300),
    );
    expect(message.allowed_mentions).toEqual({ parse: [] });
    const [embed] = message.embeds;
    expect(embed.title).toHaveLength(256);
    expect(embed.description).toContain('@everyone \\*\\*billing\\*\\* \\<@123456>');
    const error = embed.fields.find((field) => field.name === 'Last error')!.value;
    expect(error.startsWith('```\n`\u200b`\u200b`@here')).toBe(true);
    expect(error.endsWith('…\n```')).toBe(true);
    expect(discordProblems(message)).toEqual([]);
    expect(escapeDiscord('- a\n# b\n> c\n1. d e-f', 100)).toBe('\\- a\n\\# b\n\\> c\n1\\. d e-f');
  });

  it('renders every event type within the embed limits, colored by its severity', () => {
    const colors = sampleEvents().map((event) => {
      const message = discordMessage(event, undefined, [
        { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' },
        { text: 'Dashboard', url: 'https://grafana.example.com/d/audit' },
      ]);
      expect([event.type, discordProblems(message)]).toEqual([event.type, []]);
      expect(message.allowed_mentions).toEqual({ parse: [] });
      return [event.type, message.embeds[0].color.toString(16)];
    });
    expect(Object.fromEntries(colors)).toEqual({
      'audit.storage.unreachable': 'd93025',
      'audit.storage.degraded': 'f9ab00',
      'audit.storage.recovered': '1e8e3e',
      'audit.storage.capacity': 'd93025',
      'audit.records.rejected': 'f9ab00',
      'audit.spool.unwritable': 'd93025',
      'audit.spool.quarantined': 'f9ab00',
      'audit.spool.replayed': '1e8e3e',
      'audit.ledger.broken': 'f9ab00',
      'audit.alert.test': '1a73e8',
      'audit.alert.acknowledged': '1a73e8',
      'audit.alert.test.failed': 'f9ab00',
    });
  });

  it('is checked at boot, never showing the URL', () => {
    try {
      resolveAuditAlertOptions({
        channels: [{ type: 'discord', url: 'ftp://discord.com/api/webhooks/1/D1SCORDT0KEN' }],
      });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as Error).message).toContain('"channels[0].url"');
      expect((error as Error).message).not.toContain('D1SCORDT0KEN');
    }
  });
});

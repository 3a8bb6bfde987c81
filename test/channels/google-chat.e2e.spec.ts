import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { googleChatMessage } from '../../src/channels/google-chat.channel.js';
import { AuditAlertConfigError } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps } from './support/channel-app.js';
import { channelContract, problemList } from './support/channel-contract.js';
import type { ReceivedRequest } from './support/http-receiver.js';
import { waitFor } from './support/http-receiver.js';
import { sampleEvents } from './support/sample-events.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

/** Where a Chat webhook keeps its secret: the space, and the key and token of its query. */
const CHAT_PATH = '/v1/spaces/AAAASP4CE/messages?key=K3YSECRETk3y&token=T0KENSECRETt0ken';
const SECRETS = /SP4CE|K3YSECRET|T0KENSECRET|\/spaces|\/messages|key=|token=/;
const WIDGETS = ['textParagraph', 'decoratedText', 'buttonList'];

/**
 * Checks a request against Google Chat's webhook message: `text` (at most
 * 4,096 characters), one `cardsV2` card (`cardId`, a header with a title,
 * sections of known widgets, each with its required fields), `thread.threadKey`
 * (at most 4,000), the whole within 32,000 bytes; and the query that makes it
 * a reply in its thread.
 */
function chatProblems(body: unknown, request: ReceivedRequest): string[] {
  const { problems, check } = problemList();
  const message = body as Record<string, unknown>;
  const query = new URLSearchParams(request.path.split('?')[1]);
  check('query', query.get('messageReplyOption') === 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD', 'no reply option');
  check('query', query.get('key') === 'K3YSECRETk3y' && query.get('token') === 'T0KENSECRETt0ken', 'key or token lost');
  check('size', Buffer.byteLength(request.body) <= 32_000, 'over 32,000 bytes');
  check('text', typeof message.text === 'string' && (message.text as string).length <= 4_096, 'at most 4,096');
  const unknown = Object.keys(message).filter((key) => !['text', 'cardsV2', 'thread'].includes(key));
  check('body', unknown.length === 0, `unknown ${unknown.join(', ')}`);
  const thread = message.thread as { threadKey?: unknown } | undefined;
  check('thread.threadKey', typeof thread?.threadKey === 'string' && thread.threadKey.length <= 4_000, 'required');
  const cards = message.cardsV2 as { cardId?: unknown; card?: Record<string, unknown> }[];
  check('cardsV2', Array.isArray(cards) && cards.length === 1, 'one card');
  const card = cards?.[0];
  check('cardsV2[0].cardId', typeof card?.cardId === 'string', 'required');
  const header = card?.card?.header as { title?: unknown } | undefined;
  check('card.header.title', typeof header?.title === 'string' && header.title !== '', 'required');
  const sections = (card?.card?.sections ?? []) as { widgets?: Record<string, unknown>[] }[];
  check('card.sections', sections.length > 0, 'required');
  sections.forEach((section, i) => {
    check(`sections[${i}].widgets`, Array.isArray(section.widgets) && section.widgets.length > 0, 'required');
    (section.widgets ?? []).forEach((widget, j) => {
      const at = `sections[${i}].widgets[${j}]`;
      const kinds = Object.keys(widget);
      check(at, kinds.length === 1 && WIDGETS.includes(kinds[0]!), `one of ${WIDGETS.join(', ')}: ${kinds.join(', ')}`);
      const inner = widget[kinds[0]!] as Record<string, unknown>;
      if (kinds[0] === 'textParagraph' || kinds[0] === 'decoratedText') {
        check(`${at}.text`, typeof inner.text === 'string' && inner.text !== '', 'required');
        check(`${at}.text`, !/<(?!\/?(b|i|u|strike|br|a|font)\b)/.test(String(inner.text)), 'raw markup');
      }
      if (kinds[0] === 'buttonList') {
        for (const button of inner.buttons as { text?: unknown; onClick?: { openLink?: { url?: unknown } } }[]) {
          check(`${at}.buttons[].text`, typeof button.text === 'string', 'required');
          check(`${at}.buttons[].onClick`, URL.canParse(String(button.onClick?.openLink?.url)), 'openLink.url');
        }
      }
    });
  });
  return problems;
}

const titleOf = (request: ReceivedRequest): string =>
  (JSON.parse(request.body) as { cardsV2: [{ card: { header: { title: string } } }] }).cardsV2[0].card.header.title;

describe('the Google Chat channel', () => {
  channelContract(apps, {
    options: (url) => ({ type: 'googlechat', url }),
    path: CHAT_PATH,
    secrets: SECRETS,
    accepted: 200,
    problems: chatProblems,
    kindOf: (request) =>
      titleOf(request).includes('recovered')
        ? 'recovery'
        : titleOf(request).includes('unreachable')
          ? 'alert'
          : 'other',
    testRequests: 1,
  });

  it('posts a card in the thread of its outage, and the recovery under it', async () => {
    const chat = await apps.receiver();
    const { monitor, clock, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      cooldownMs: 60_000,
      links: [{ text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' }],
      channels: [{ type: 'googlechat', url: chat.url(CHAT_PATH) }],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    const outageId = monitor.getStatus().outageId!;
    await chat.waitForRequests(1);
    clock.advance(60_000);
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    await chat.waitForRequests(2);
    monitor.recordSuccess();
    await chat.waitForRequests(3);

    const [alert, repeat, recovery] = chat.bodies() as { thread: { threadKey: string } }[];
    expect(alert).toEqual({
      text: '🚨 Audit storage unreachable: Audit storage of billing-api unreachable for 0 ms (monitor default)',
      cardsV2: [
        {
          cardId: 'audit-alert',
          card: {
            header: {
              title: '🚨 Audit storage unreachable',
              subtitle: 'Audit storage of billing-api unreachable for 0 ms (monitor default)',
            },
            sections: [
              {
                widgets: [
                  {
                    textParagraph: {
                      text: 'billing-api has been unable to write its audit trail for 0 ms: 1 failed write since the outage began.',
                    },
                  },
                ],
              },
              {
                widgets: [
                  { decoratedText: { topLabel: 'Service', text: 'billing-api' } },
                  { decoratedText: { topLabel: 'Monitor', text: 'default' } },
                  { decoratedText: { topLabel: 'Failing since', text: '2026-01-01 12:00:00 UTC' } },
                  { decoratedText: { topLabel: 'Alert', text: '1st alert' } },
                  { decoratedText: { topLabel: 'Outage', text: outageId } },
                ],
              },
              {
                header: 'Last error',
                widgets: [{ textParagraph: { text: 'Error: connect ECONNREFUSED 10.0.0.5:5432' } }],
              },
              {
                widgets: [
                  {
                    buttonList: {
                      buttons: [
                        { text: 'Runbook', onClick: { openLink: { url: 'https://wiki.example.com/runbooks/audit' } } },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
      thread: { threadKey: `audit-storage:billing-api:default:${outageId}` },
    });
    expect(repeat!.thread).toEqual(alert!.thread);
    expect(recovery!.thread).toEqual(alert!.thread);
    expect(titleOf(chat.requests[2]!)).toBe('✅ Audit storage recovered');
    for (const request of chat.requests) {
      expect(chatProblems(JSON.parse(request.body), request)).toEqual([]);
      expect(request.path).toBe(`${CHAT_PATH}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`);
    }
    await waitFor(() => logger.of('log').length === 3, 'the deliveries logged');
    expect(logger.of('log')[0]).toBe(
      `Google Chat channel (http://127.0.0.1:${chat.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
    );
    expect(logger.text()).not.toMatch(SECRETS);
  });

  it('lets no text of the event notify the space or inject markup, and keeps within the limits', () => {
    const message = googleChatMessage(
      {
        type: 'audit.storage.unreachable',
        outageId: 'o',
        monitor: 'default',
        serviceName: '<users/all> <b>billing</b> & co',
        firstFailureAt: new Date('2026-01-01T12:00:00Z'),
        consecutiveFailures: 1,
        unreachableDurationMs: 0,
        lastError: `<users/all> <a href="https://evil.example">x</a> ${'e'.repeat(5_000)}`,
        occurrence: 1,
        probeFailures: 0,
      },
      `<users/all> ${'s'.repeat(5_000)}`,
    );
    expect(message.text).not.toContain('<users/all>');
    expect(message.text.startsWith('<\u200busers/all>')).toBe(true);
    expect(message.text).toHaveLength(4_096);
    const card = JSON.stringify(message.cardsV2);
    expect(card).not.toMatch(/<users|<b>|<a /);
    expect(card).toContain('&lt;users/all&gt; &lt;b&gt;billing&lt;/b&gt; &amp; co');
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(32_000);
  });

  it('renders every event type within the webhook message schema', () => {
    const titles = sampleEvents().map((event) => {
      const message = googleChatMessage(event, undefined, [
        { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' },
        { text: 'Dashboard', url: 'https://grafana.example.com/d/audit' },
      ]);
      const body = JSON.stringify(message);
      const request = {
        method: 'POST',
        path: `${CHAT_PATH}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`,
        body,
        headers: {},
      };
      expect([event.type, chatProblems(message, request)]).toEqual([event.type, []]);
      expect(message.text).not.toContain('<users/all>');
      return message.cardsV2[0].card.header.title;
    });
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('is checked at boot, never showing the URL', () => {
    try {
      resolveAuditAlertOptions({ channels: [{ type: 'googlechat', url: 'chat.googleapis.com/v1/spaces/AAAASP4CE' }] });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as Error).message).toContain('"channels[0].url"');
      expect((error as Error).message).not.toContain('SP4CE');
    }
  });
});

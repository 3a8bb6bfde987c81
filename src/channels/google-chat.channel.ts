import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { ResolvedGoogleChatChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, type ChannelRequest, HttpChannel } from './http.channel.js';
import { escapeEntities, isHeadline, truncate } from './message-text.util.js';
import { pagerDutyDedupKey } from './pagerduty.channel.js';
import { plainDate, plainMessage } from './plain-message.js';

/** A widget of a card section (https://developers.google.com/workspace/chat/api/reference/rest/v1/cards). */
type ChatWidget = Readonly<Record<string, unknown>>;

/** A section of a `cardsV2` card. */
interface ChatSection {
  readonly header?: string;
  readonly widgets: readonly ChatWidget[];
}

/** The body of an incoming-webhook message: a notification `text`, one card, and the thread it belongs to. */
interface GoogleChatMessage {
  readonly text: string;
  readonly cardsV2: readonly [
    {
      readonly cardId: string;
      readonly card: {
        readonly header: { readonly title: string; readonly subtitle: string };
        readonly sections: readonly ChatSection[];
      };
    },
  ];
  readonly thread: { readonly threadKey: string };
}

/** Google Chat's limits, in characters: a message's text; and what a card header shows on one line. */
const MAX_TEXT = 4_096;
const MAX_HEADER = 200;
/** A card's text (the error, the names): kept well within the message's 32,000 bytes. */
const MAX_CARD_TEXT = 2_000;

/** The query parameter that makes a message with a `threadKey` a reply in that thread, or a new thread. */
const REPLY_IN_THREAD = ['messageReplyOption', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD'] as const;

/**
 * Escapes text for a card's formatted text (a subset of HTML): no tag, no
 * link, no entity of the event's own. Cut to `max` characters, an entity never split.
 */
function escapeCard(text: string, max = MAX_CARD_TEXT): string {
  return escapeEntities(text, max);
}

/**
 * Makes `<` inert in a message's text, where `<users/all>` would notify
 * everyone in the space: a zero-width space after it breaks the syntax and
 * shows nothing.
 */
function escapeText(text: string, max = MAX_TEXT): string {
  return truncate(text, max, (char) => (char === '<' ? '<\u200b' : char));
}

const paragraph = (text: string): ChatWidget => ({ textParagraph: { text } });
const fact = (label: string, text: string): ChatWidget => ({ decoratedText: { topLabel: label, text } });

/**
 * Renders `event` as a Google Chat message: the notification line, one card
 * saying what failed, for how long, the last error, the service and the
 * monitor, with the monitor's links as buttons, in the thread of its outage.
 * @param summary A headline of the application's, in place of the built-in one.
 */
export function googleChatMessage(
  event: AuditAlertEvent,
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): GoogleChatMessage {
  const plain = plainMessage(event);
  const title = summary ?? plain.title;
  const sections: ChatSection[] = [
    { widgets: [paragraph(escapeCard(plain.text))] },
    {
      widgets: [
        ...plain.facts.map(([name, value]) =>
          fact(name, escapeCard(value instanceof Date ? plainDate(value) : value, MAX_HEADER)),
        ),
        fact(plain.key[0], escapeCard(plain.key[1], MAX_HEADER)),
      ],
    },
  ];
  if (plain.error !== null) sections.push({ header: 'Last error', widgets: [paragraph(escapeCard(plain.error))] });
  if (links.length > 0) {
    sections.push({
      widgets: [
        {
          buttonList: {
            buttons: links.map((link) => ({
              text: truncate(link.text, MAX_HEADER),
              onClick: { openLink: { url: link.url } },
            })),
          },
        },
      ],
    });
  }
  return {
    text: escapeText(summary ?? `${plain.title}: ${plain.headline}`),
    cardsV2: [
      {
        cardId: 'audit-alert',
        card: {
          // Escaped too: whether a header reads markup is not documented, and a name with a `<` is rare.
          header: { title: escapeCard(title, MAX_HEADER), subtitle: escapeCard(plain.headline, MAX_HEADER) },
          sections,
        },
      },
    ],
    // The outage's incident key: its alert, repeats and recovery share one thread.
    thread: { threadKey: pagerDutyDedupKey(event) },
  };
}

/** Posts a card message to a Google Chat space through an incoming webhook, one thread per outage. */
export class GoogleChatChannel extends HttpChannel<ResolvedGoogleChatChannel> {
  /** The webhook URL with {@link REPLY_IN_THREAD}: without it, each message would start a thread of its own. */
  private readonly threadedUrl: string;

  constructor(options: ResolvedGoogleChatChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Google Chat', links);
    const url = new URL(options.url);
    url.searchParams.set(...REPLY_IN_THREAD);
    this.threadedUrl = url.href;
  }

  protected override bodyFor(event: AuditAlertEvent): GoogleChatMessage {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    return googleChatMessage(event, summary, this.linksOf(event.monitor));
  }

  protected override requestFor(body: unknown): ChannelRequest {
    return { url: this.threadedUrl, body };
  }
}

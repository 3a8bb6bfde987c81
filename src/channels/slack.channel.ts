import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedSlackChannel } from './channels.options.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, HttpChannel } from './http.channel.js';
import { isHeadline, truncate } from './message-text.util.js';
import { escapeSlack, header, renderSlackMessage, type SlackBlock, type SlackMessage } from './slack.renderers.js';

/** Longest `plain_text` of a header block. */
const MAX_HEADER = 150;
/** Longest notification line made of a custom summary. */
const MAX_SUMMARY_TEXT = 1_000;

/** Longest text of a button. */
const MAX_BUTTON_TEXT = 75;

/** The monitor's links as buttons, each opening its URL (no interactivity needed: a link button). */
const linkButtons = (links: readonly AuditAlertLink[]): SlackBlock => ({
  type: 'actions',
  elements: links.map((link, index) => ({
    type: 'button',
    text: { type: 'plain_text', text: truncate(link.text, MAX_BUTTON_TEXT), emoji: true },
    url: link.url,
    action_id: `audit-alert-link-${index}`,
  })),
});

/**
 * Renders `event` as a Slack message: a notification line plus Block Kit blocks.
 * @param summary A headline of the application's, in place of the built-in one: the notification line and the header.
 * @param links The monitor's links, as buttons at the end of the message.
 */
export function slackMessage(
  event: AuditAlertEvent,
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): SlackMessage {
  const message = renderSlackMessage(event);
  const buttons = links.length === 0 ? [] : [linkButtons(links)];
  if (summary === undefined) return { text: message.text, blocks: [...message.blocks, ...buttons] };
  const [, ...blocks] = message.blocks;
  return {
    text: escapeSlack(summary, MAX_SUMMARY_TEXT),
    // plain_text shows what it is given, mrkdwn and all: nothing to escape, only a limit.
    blocks: [header(truncate(summary, MAX_HEADER)), ...blocks, ...buttons],
  };
}

/** Posts a message a person can read to a Slack incoming webhook. */
export class SlackChannel extends HttpChannel<ResolvedSlackChannel> {
  constructor(options: ResolvedSlackChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Slack', links);
  }

  protected override bodyFor(event: AuditAlertEvent): SlackMessage {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    return slackMessage(event, summary, this.linksOf(event.monitor));
  }
}

import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedTeamsChannel } from './channels.options.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, HttpChannel } from './http.channel.js';
import { isHeadline, truncate } from './message-text.util.js';
import { escapeTeams } from './teams-markdown.util.js';
import { type AdaptiveElement, headline, MAX_NAME, teamsCard } from './teams.renderers.js';

/** An Adaptive Card (https://adaptivecards.io/explorer/AdaptiveCard.html). */
interface AdaptiveCard {
  readonly $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  readonly type: 'AdaptiveCard';
  readonly version: typeof ADAPTIVE_CARD_VERSION;
  readonly body: readonly AdaptiveElement[];
  /** The monitor's links, as `Action.OpenUrl` buttons; absent when it has none. */
  readonly actions?: readonly TeamsOpenUrl[];
  readonly msteams: { readonly width: 'Full' };
}

/** A button opening a URL (https://adaptivecards.io/explorer/Action.OpenUrl.html). */
interface TeamsOpenUrl {
  readonly type: 'Action.OpenUrl';
  readonly title: string;
  readonly url: string;
}

/** What a Teams Workflows webhook expects: a message carrying one Adaptive Card attachment. */
interface TeamsMessage {
  readonly type: 'message';
  readonly attachments: readonly [
    {
      readonly contentType: 'application/vnd.microsoft.card.adaptive';
      readonly contentUrl: null;
      readonly content: AdaptiveCard;
    },
  ];
}

/** The newest schema version every Teams client (mobile included) renders. */
const ADAPTIVE_CARD_VERSION = '1.4';

/** Longest headline, in characters. */
const MAX_HEADLINE = 200;

/**
 * Renders `event` as a Teams Workflows message: one Adaptive Card saying what
 * failed, for how long, the last error, the service, the monitor and the
 * outage; a clear recovered card; a capacity card colored by its level; or a
 * card marked as a test.
 * @param summary A headline of the application's, in place of the built-in one.
 * @param links The monitor's links, as buttons under the card.
 */
export function teamsMessage(
  event: AuditAlertEvent,
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): TeamsMessage {
  // An action's title is plain text: only a limit to keep.
  const actions = links.map((link): TeamsOpenUrl => ({
    type: 'Action.OpenUrl',
    title: truncate(link.text, MAX_NAME),
    url: link.url,
  }));
  const { headline: builtIn, color, body } = teamsCard(event);
  const title = summary === undefined ? builtIn : escapeTeams(summary, MAX_HEADLINE);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: ADAPTIVE_CARD_VERSION,
          body: [headline(title, color), ...body],
          ...(actions.length === 0 ? {} : { actions }),
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

/** Posts an Adaptive Card to Microsoft Teams through a Workflows webhook. */
export class TeamsChannel extends HttpChannel<ResolvedTeamsChannel> {
  constructor(options: ResolvedTeamsChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Teams', links);
  }

  protected override bodyFor(event: AuditAlertEvent): TeamsMessage {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    return teamsMessage(event, summary, this.linksOf(event.monitor));
  }
}

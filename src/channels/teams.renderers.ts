import { type AuditAlertEventRenderers, renderEvent } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { cardFacts } from './card-facts.js';
import { humanDuration } from './human-duration.util.js';
import { percent, plural, spoolFigures } from './message-text.util.js';
import { type PlainMessage, plainMessage, type PlainTone } from './plain-message.js';
import { escapeTeams, teamsDate } from './teams-markdown.util.js';

/** An element of an Adaptive Card's `body`. */
export type AdaptiveElement = Readonly<Record<string, unknown>>;

/** Longest text taken from the event (service, monitor), in characters. */
export const MAX_NAME = 200;

/** The colors of a card's headline, as Adaptive Cards name them. */
type HeadlineColor = 'Attention' | 'Warning' | 'Good' | 'Accent';

/** Headline colors by tone. */
const TEAMS_COLORS: Readonly<Record<PlainTone, HeadlineColor>> = {
  alert: 'Attention',
  warning: 'Warning',
  good: 'Good',
  info: 'Accent',
};

/** A card's headline: large, bold, in its color. */
export const headline = (text: string, color: HeadlineColor): AdaptiveElement => ({
  type: 'TextBlock',
  text,
  size: 'Large',
  weight: 'Bolder',
  color,
  wrap: true,
});
const paragraph = (text: string): AdaptiveElement => ({ type: 'TextBlock', text, wrap: true });
/** A labelled text of the event's (the last error, a reason), set in monospace: at most 1,024 characters, escaped at most twice that. */
const detail = (label: string, text: string): AdaptiveElement[] => [
  { type: 'TextBlock', text: label, weight: 'Bolder', wrap: true },
  { type: 'TextBlock', text: escapeTeams(text, 2_048), fontType: 'Monospace', wrap: true },
];

/** The card's rows, the episode key last among them. */
function factSet(event: AuditAlertEvent, plain: PlainMessage): AdaptiveElement {
  const { facts, key } = cardFacts(event, plain);
  const rows = key === null ? facts : [...facts, key];
  return {
    type: 'FactSet',
    facts: rows.map(([title, value]) => ({
      title,
      value: value instanceof Date ? teamsDate(value) : escapeTeams(value, MAX_NAME),
    })),
  };
}

/** What a card says above its rows, and below them: the last error, a reason. */
interface TeamsCardText {
  readonly lead: readonly AdaptiveElement[];
  readonly detail?: readonly AdaptiveElement[];
}

/** The text of each event type's card, around the rows every card shares. */
const TEAMS_CARD_TEXTS = {
  'audit.storage.unreachable': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.serviceName, MAX_NAME)}** has been unable to write its audit trail for ` +
          `**${humanDuration(event.unreachableDurationMs)}**: ` +
          `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
      ),
    ],
    detail: detail('Last error', event.lastError),
  }),
  'audit.storage.degraded': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.serviceName, MAX_NAME)}** is losing part of its audit trail: ` +
          `**${event.failures} of ${plural(event.writes, 'write')}** ` +
          `(${percent(event.failureRatio)}) failed in the last **${humanDuration(event.windowMs)}**.`,
      ),
    ],
    detail: detail('Last error', event.lastError),
  }),
  'audit.storage.recovered': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.serviceName, MAX_NAME)}** is writing its audit trail again. The outage lasted ` +
          `**${humanDuration(event.outageDurationMs)}**; **${plural(event.writesFailed, 'audit write')}** failed during it` +
          `${spoolFigures(event, (figure) => `**${figure}**`)}.`,
      ),
    ],
  }),
  'audit.storage.capacity': (event) => {
    const service = escapeTeams(event.serviceName, MAX_NAME);
    const usage = percent(event.usedRatio);
    return {
      lead: [
        paragraph(
          event.level === 'normal'
            ? `**${service}**'s audit storage is back at **${usage}** used, under the warning level of ${percent(event.threshold)}.`
            : `**${service}**'s audit storage is **${usage}** full, past the ${event.level} level of ${percent(event.threshold)}.`,
        ),
      ],
    };
  },
  'audit.records.rejected': (event) => ({
    lead: [
      paragraph(
        `The audit storage of **${escapeTeams(event.serviceName, MAX_NAME)}** answers, ` +
          `but has refused **${plural(event.rejectedRecords, 'record')}** ` +
          `over ${humanDuration(event.rejectedDurationMs)}: these audit records are lost. The storage is not down; the records are refused.`,
      ),
    ],
    detail: detail('Last error', event.lastError),
  }),
  'audit.spool.unwritable': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.serviceName, MAX_NAME)}** cannot keep audit records in its spool: ` +
          `a write that fails now loses its record (${plural(event.recordsLost, 'record')} so far).`,
      ),
    ],
    detail: detail('Last error', event.lastError),
  }),
  'audit.spool.replayed': (event) => ({
    lead: [
      paragraph(
        `**${plural(event.recordsReplayed, 'spooled audit record')}** of **${escapeTeams(event.serviceName, MAX_NAME)}** ` +
          'are in the audit storage again; the spool is empty.',
      ),
    ],
  }),
  'audit.spool.quarantined': (event) => {
    const missing = event.recordsMissing > 0 ? `, ${plural(event.recordsMissing, 'record')} missing` : '';
    return {
      lead: [
        paragraph(
          `**${plural(event.recordsQuarantined, 'spooled audit record')}** of **${escapeTeams(event.serviceName, MAX_NAME)}** ` +
            `were set aside in ${escapeTeams(event.file, MAX_NAME)} instead of replayed${missing}: ` +
            'check them, and write them to the audit storage by hand.',
        ),
      ],
      detail: detail('Reason', event.reason),
    };
  },
  'audit.ledger.broken': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.serviceName, MAX_NAME)}** found its evidence ledger broken at start, ` +
          `at ${escapeTeams(event.file, MAX_NAME)} line ${event.line}. ` +
          'The break is recorded in the ledger; find out who changed the file.',
      ),
    ],
    detail: detail('Reason', event.reason),
  }),
  'audit.alert.test': (event) => ({
    lead: [
      paragraph(
        `This is a **test** of the audit storage alerts of **${escapeTeams(event.serviceName, MAX_NAME)}**, sent on request. ` +
          'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
      ),
    ],
  }),
  'audit.alert.acknowledged': (event) => ({
    lead: [
      paragraph(
        `**${escapeTeams(event.by, MAX_NAME)}** is on the audit storage outage of ` +
          `**${escapeTeams(event.serviceName, MAX_NAME)}**: its repeats stop until it recovers.`,
      ),
      ...(event.note === null ? [] : [paragraph(escapeTeams(event.note, MAX_NAME * 4))]),
    ],
  }),
  'audit.alert.test.failed': (event) => ({
    lead: [
      paragraph(
        `A scheduled test of the audit storage alerts of **${escapeTeams(event.serviceName, MAX_NAME)}** ` +
          `did not reach **${escapeTeams(event.recipient, MAX_NAME)}**: ` +
          'it would miss a real alert too. Check its URL, key or flow.',
      ),
    ],
    detail: [paragraph(`**Reason**: ${escapeTeams(event.reason, MAX_NAME * 4)}`)],
  }),
} satisfies AuditAlertEventRenderers<TeamsCardText>;

/** The built-in headline of a card, the color of its card, and what follows it. */
interface TeamsCard {
  readonly headline: string;
  readonly color: HeadlineColor;
  readonly body: AdaptiveElement[];
}

/** The built-in card of `event`: the plain message's title, colored by its tone, over the card's text and rows. */
export function teamsCard(event: AuditAlertEvent): TeamsCard {
  const plain = plainMessage(event);
  const { lead, detail: below = [] } = renderEvent<TeamsCardText, []>(TEAMS_CARD_TEXTS, event);
  return { headline: plain.title, color: TEAMS_COLORS[plain.tone], body: [...lead, factSet(event, plain), ...below] };
}

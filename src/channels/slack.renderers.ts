import { type AuditAlertEventRenderers, renderEvent } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { cardFacts } from './card-facts.js';
import { humanDuration } from './human-duration.util.js';
import { escapeEntities, percent, plural, spoolFigures } from './message-text.util.js';

/** A Block Kit block, as Slack's incoming webhooks accept it. */
export type SlackBlock = Readonly<Record<string, unknown>>;

/** The body of an incoming-webhook message: `text` is the notification and fallback, `blocks` the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/**
 * Escapes what Slack's mrkdwn gives a meaning of its own (`&`, `<`, `>`) and
 * keeps the result within `max` characters, Slack's limits applying after
 * escaping: an entity is never split.
 */
export function escapeSlack(text: string, max = 200): string {
  return escapeEntities(text, max);
}

/** The last error, quoted in a code block it cannot close early; a section holds 3,000 characters at most. */
function codeBlock(text: string): string {
  return `\`\`\`${escapeSlack(text.replace(/```/g, '`\u200b`\u200b`'), 2_900)}\`\`\``;
}

/** A time shown in each reader's own time zone, with the ISO form as fallback. */
function slackDate(date: Date): string {
  return `<!date^${Math.floor(date.getTime() / 1_000)}^{date_short_pretty} {time_secs}|${date.toISOString()}>`;
}

export const header = (text: string): SlackBlock => ({
  type: 'header',
  text: { type: 'plain_text', text, emoji: true },
});
const section = (text: string): SlackBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** The notification line need not carry the whole error: a phone shows far less. */
const MAX_FALLBACK_ERROR = 300;

/** What a message says around the rows every card shares. */
interface SlackMessageText {
  /** The notification line. */
  readonly text: string;
  /** The header block's text. */
  readonly title: string;
  /** The sentence under the header, in mrkdwn. */
  readonly lead: string;
  /** Under the rows: the last error or a reason, with its label, quoted in a code block. */
  readonly detail?: readonly [label: string, text: string];
}

const CAPACITY_HEADERS = {
  warning: ':warning: Audit storage filling up',
  critical: ':rotating_light: Audit storage nearly full',
  normal: ':white_check_mark: Audit storage back under its capacity warning',
} as const;

/** The text of each event type's message. */
const SLACK_MESSAGE_TEXTS = {
  'audit.storage.unreachable': (event) => {
    const service = escapeSlack(event.serviceName);
    const duration = humanDuration(event.unreachableDurationMs);
    return {
      text:
        `:rotating_light: Audit storage of ${service} unreachable for ${duration} (monitor ${escapeSlack(event.monitor)}): ` +
        escapeSlack(event.lastError, MAX_FALLBACK_ERROR),
      title: ':rotating_light: Audit storage unreachable',
      lead:
        `*${service}* has been unable to write its audit trail for *${duration}*: ` +
        `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
      detail: ['Last error', event.lastError],
    };
  },
  'audit.storage.degraded': (event) => {
    const service = escapeSlack(event.serviceName);
    const window = humanDuration(event.windowMs);
    const share = percent(event.failureRatio);
    return {
      text:
        `:warning: Audit storage of ${service} degraded: ${share} of writes failing over ${window} ` +
        `(monitor ${escapeSlack(event.monitor)}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
      title: ':warning: Audit storage degraded',
      lead:
        `*${service}* is losing part of its audit trail: *${event.failures} of ${plural(event.writes, 'write')}* ` +
        `(${share}) failed in the last *${window}*.`,
      detail: ['Last error', event.lastError],
    };
  },
  'audit.storage.recovered': (event) => {
    const service = escapeSlack(event.serviceName);
    const duration = humanDuration(event.outageDurationMs);
    const failed = plural(event.writesFailed, 'audit write');
    return {
      text:
        `:white_check_mark: Audit storage of ${service} recovered after ${duration} (monitor ${escapeSlack(event.monitor)}); ` +
        `${failed} failed during the outage${spoolFigures(event)}.`,
      title: ':white_check_mark: Audit storage recovered',
      lead:
        `*${service}* is writing its audit trail again. The outage lasted *${duration}*; ` +
        `*${failed}* failed during it${spoolFigures(event, (figure) => `*${figure}*`)}.`,
    };
  },
  'audit.storage.capacity': (event) => {
    const service = escapeSlack(event.serviceName);
    const usage = percent(event.usedRatio);
    const title = CAPACITY_HEADERS[event.level];
    return {
      text: `${title}: ${service} at ${usage} (monitor ${escapeSlack(event.monitor)}, level ${event.level})`,
      title,
      lead:
        event.level === 'normal'
          ? `*${service}*'s audit storage is back at *${usage}* used, under the warning level of ${percent(event.threshold)}.`
          : `*${service}*'s audit storage is *${usage}* full, past the ${event.level} level of ${percent(event.threshold)}.`,
    };
  },
  'audit.records.rejected': (event) => {
    const service = escapeSlack(event.serviceName);
    const duration = humanDuration(event.rejectedDurationMs);
    const records = plural(event.rejectedRecords, 'record');
    return {
      text:
        `:warning: ${service} is losing audit records: ${records} rejected in ${duration} ` +
        `(monitor ${escapeSlack(event.monitor)}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
      title: ':warning: Audit records rejected',
      lead:
        `The audit storage of *${service}* answers, but has refused *${records}* ` +
        `over ${duration}: these audit records are lost. The storage is not down; the records are refused.`,
      detail: ['Last error', event.lastError],
    };
  },
  'audit.spool.unwritable': (event) => {
    const service = escapeSlack(event.serviceName);
    return {
      text:
        `:rotating_light: The audit spool of ${service} cannot keep records (monitor ${escapeSlack(event.monitor)}): ` +
        escapeSlack(event.lastError, MAX_FALLBACK_ERROR),
      title: ':rotating_light: Audit spool unwritable',
      lead:
        `*${service}* cannot keep audit records in its spool: a write that fails now loses its record ` +
        `(${plural(event.recordsLost, 'record')} so far).`,
      detail: ['Last error', event.lastError],
    };
  },
  'audit.spool.replayed': (event) => {
    const service = escapeSlack(event.serviceName);
    const records = plural(event.recordsReplayed, 'spooled audit record');
    return {
      text:
        `:inbox_tray: ${records} of ${service} replayed into the audit storage ` +
        `(monitor ${escapeSlack(event.monitor)}); the spool is empty.`,
      title: ':inbox_tray: Audit spool replayed',
      lead: `*${records}* of *${service}* are in the audit storage again; the spool is empty.`,
    };
  },
  'audit.spool.quarantined': (event) => {
    const service = escapeSlack(event.serviceName);
    const file = escapeSlack(event.file);
    const records = plural(event.recordsQuarantined, 'spooled audit record');
    const missing = event.recordsMissing > 0 ? `, ${plural(event.recordsMissing, 'record')} missing` : '';
    return {
      text:
        `:warning: ${records} of ${service} set aside in ${file} instead of replayed${missing} ` +
        `(monitor ${escapeSlack(event.monitor)}): ${escapeSlack(event.reason, MAX_FALLBACK_ERROR)}`,
      title: ':warning: Audit spool records set aside',
      lead:
        `*${records}* of *${service}* were set aside in \`${file}\` instead of replayed${missing}: ` +
        'check them, and write them to the audit storage by hand.',
      detail: ['Reason', event.reason],
    };
  },
  'audit.ledger.broken': (event) => {
    const service = escapeSlack(event.serviceName);
    const at = `${escapeSlack(event.file)} line ${event.line}`;
    return {
      text: `:warning: The evidence ledger of ${service} is broken at ${at}: ${escapeSlack(event.reason, MAX_FALLBACK_ERROR)}`,
      title: ':warning: Audit evidence ledger broken',
      lead:
        `*${service}* found its evidence ledger broken at start, at \`${at}\`. ` +
        'The break is recorded in the ledger; find out who changed the file.',
      detail: ['Reason', event.reason],
    };
  },
  'audit.alert.test': (event) => {
    const service = escapeSlack(event.serviceName);
    return {
      text:
        `:test_tube: Test alert: audit storage alerts of ${service} reach this channel ` +
        `(monitor ${escapeSlack(event.monitor)}). Nothing is wrong.`,
      title: ':test_tube: Test alert, nothing is wrong',
      lead:
        `This is a *test* of the audit storage alerts of *${service}*, sent on request. ` +
        'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
    };
  },
  'audit.alert.acknowledged': (event) => {
    const service = escapeSlack(event.serviceName);
    const by = escapeSlack(event.by);
    return {
      text: `:eyes: ${by} acknowledged the audit storage outage of ${service} (monitor ${escapeSlack(event.monitor)}).`,
      title: ':eyes: Audit storage outage acknowledged',
      lead:
        `*${by}* is on the audit storage outage of *${service}*: its repeats stop until it recovers.` +
        (event.note === null ? '' : `\n>${escapeSlack(event.note, 1_000)}`),
    };
  },
  'audit.alert.test.failed': (event) => {
    const service = escapeSlack(event.serviceName);
    const recipient = escapeSlack(event.recipient);
    return {
      text:
        `:warning: ${recipient} failed the test alert of ${service} (monitor ${escapeSlack(event.monitor)}): ` +
        'it would miss a real alert.',
      title: ':warning: Alert recipient failed its test',
      lead:
        `A scheduled test of the audit storage alerts of *${service}* did not reach *${recipient}*: ` +
        'it would miss a real alert too. Check its URL, key or flow.',
      detail: ['Reason', event.reason],
    };
  },
} satisfies AuditAlertEventRenderers<SlackMessageText>;

/** The built-in message of `event`: its notification line, and its blocks under a header. */
export function renderSlackMessage(event: AuditAlertEvent): SlackMessage {
  const { text, title, lead, detail } = renderEvent<SlackMessageText, []>(SLACK_MESSAGE_TEXTS, event);
  const { facts: rows, key } = cardFacts(event);
  return {
    text,
    blocks: [
      header(title),
      section(lead),
      {
        type: 'section',
        fields: rows.map(([name, value]) => ({
          type: 'mrkdwn',
          text: `*${name}*\n${value instanceof Date ? slackDate(value) : escapeSlack(value)}`,
        })),
      },
      ...(detail === undefined ? [] : [section(`*${detail[0]}*\n${codeBlock(detail[1])}`)]),
      ...(key === null ? [] : [context(`${key[0]} \`${escapeSlack(key[1])}\``)]),
    ],
  };
}

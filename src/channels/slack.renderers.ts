import { type AuditAlertEventRenderers, renderEvent } from '../events/audit-alert-event-kinds.js';
import type {
  AlertAcknowledgedEvent,
  AlertTestEvent,
  AlertTestFailedEvent,
  AuditAlertEvent,
  RecordsRejectedEvent,
  LedgerBrokenEvent,
  SpoolQuarantinedEvent,
  SpoolReplayedEvent,
  SpoolUnwritableEvent,
  StorageCapacityEvent,
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import { humanDuration } from './human-duration.util.js';
import { alertLabel, percent, plural, spoolFigures, truncate } from './message-text.util.js';

/** A Block Kit block, as Slack's incoming webhooks accept it. */
export type SlackBlock = Readonly<Record<string, unknown>>;

/** The body of an incoming-webhook message: `text` is the notification and fallback, `blocks` the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Escapes what Slack's mrkdwn gives a meaning of its own (`&`, `<`, `>`) and
 * keeps the result within `max` characters, Slack's limits applying after
 * escaping: an entity is never split.
 */
export function escapeSlack(text: string, max = 200): string {
  return truncate(text, max, (char) => ENTITIES[char] ?? char);
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
const fields = (pairs: readonly [string, string][]): SlackBlock => ({
  type: 'section',
  fields: pairs.map(([name, value]) => ({ type: 'mrkdwn', text: `*${name}*\n${value}` })),
});
const context = (text: string): SlackBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** The notification line need not carry the whole error: a phone shows far less. */
const MAX_FALLBACK_ERROR = 300;

function unreachableMessage(event: StorageUnreachableEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const duration = humanDuration(event.unreachableDurationMs);
  return {
    text: `:rotating_light: Audit storage of ${service} unreachable for ${duration} (monitor ${monitor}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':rotating_light: Audit storage unreachable'),
      section(
        `*${service}* has been unable to write its audit trail for *${duration}*: ` +
          `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Failing since', slackDate(event.firstFailureAt)],
        ['Alert', alertLabel(event.occurrence)],
      ]),
      section(`*Last error*\n${codeBlock(event.lastError)}`),
      context(`Outage \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function degradedMessage(event: StorageDegradedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const window = humanDuration(event.windowMs);
  const share = percent(event.failureRatio);
  return {
    text: `:warning: Audit storage of ${service} degraded: ${share} of writes failing over ${window} (monitor ${monitor}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':warning: Audit storage degraded'),
      section(
        `*${service}* is losing part of its audit trail: *${event.failures} of ${plural(event.writes, 'write')}* ` +
          `(${share}) failed in the last *${window}*.`,
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Failing since', slackDate(event.firstFailureAt)],
        ['Alert', alertLabel(event.occurrence, 'degraded')],
      ]),
      section(`*Last error*\n${codeBlock(event.lastError)}`),
      context(`Outage \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function recoveredMessage(event: StorageRecoveredEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const duration = humanDuration(event.outageDurationMs);
  const failed = plural(event.writesFailed, 'audit write');
  return {
    text: `:white_check_mark: Audit storage of ${service} recovered after ${duration} (monitor ${monitor}); ${failed} failed during the outage${spoolFigures(event)}.`,
    blocks: [
      header(':white_check_mark: Audit storage recovered'),
      section(
        `*${service}* is writing its audit trail again. The outage lasted *${duration}*; ` +
          `*${failed}* failed during it${spoolFigures(event, (figure) => `*${figure}*`)}.`,
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Outage started', slackDate(event.outageStartedAt)],
        ['Recovered', slackDate(event.recoveredAt)],
      ]),
      context(`Outage \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

const CAPACITY_HEADERS = {
  warning: ':warning: Audit storage filling up',
  critical: ':rotating_light: Audit storage nearly full',
  normal: ':white_check_mark: Audit storage back under its capacity warning',
} as const;

function capacityMessage(event: StorageCapacityEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const usage = percent(event.usedRatio);
  const line =
    event.level === 'normal'
      ? `*${service}*'s audit storage is back at *${usage}* used, under the warning level of ${percent(event.threshold)}.`
      : `*${service}*'s audit storage is *${usage}* full, past the ${event.level} level of ${percent(event.threshold)}.`;
  const amount = event.used !== null && event.total !== null ? `${event.used} of ${event.total}` : usage;
  return {
    text: `${CAPACITY_HEADERS[event.level]}: ${service} at ${usage} (monitor ${monitor}, level ${event.level})`,
    blocks: [
      header(CAPACITY_HEADERS[event.level]),
      section(line),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Used', escapeSlack(amount)],
        ['Checked', slackDate(event.checkedAt)],
      ]),
      context(`Capacity episode \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function rejectedMessage(event: RecordsRejectedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const duration = humanDuration(event.rejectedDurationMs);
  return {
    text: `:warning: ${service} is losing audit records: ${plural(event.rejectedRecords, 'record')} rejected in ${duration} (monitor ${monitor}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':warning: Audit records rejected'),
      section(
        `The audit storage of *${service}* answers, but has refused *${plural(event.rejectedRecords, 'record')}* ` +
          `over ${duration}: these audit records are lost. The storage is not down; the records are refused.`,
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Rejecting since', slackDate(event.firstRejectedAt)],
        ['Alert', alertLabel(event.occurrence)],
      ]),
      section(`*Last error*\n${codeBlock(event.lastError)}`),
      context(`Rejections \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function spoolUnwritableMessage(event: SpoolUnwritableEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  return {
    text: `:rotating_light: The audit spool of ${service} cannot keep records (monitor ${monitor}): ${escapeSlack(event.lastError, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':rotating_light: Audit spool unwritable'),
      section(
        `*${service}* cannot keep audit records in its spool: a write that fails now loses its record ` +
          `(${plural(event.recordsLost, 'record')} so far).`,
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Failed', slackDate(event.failedAt)],
      ]),
      section(`*Last error*\n${codeBlock(event.lastError)}`),
      context(`Spool episode \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function spoolQuarantinedMessage(event: SpoolQuarantinedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const records = plural(event.recordsQuarantined, 'spooled audit record');
  const missing = event.recordsMissing > 0 ? `, ${plural(event.recordsMissing, 'record')} missing` : '';
  return {
    text: `:warning: ${records} of ${service} set aside in ${escapeSlack(event.file)} instead of replayed${missing} (monitor ${monitor}): ${escapeSlack(event.reason, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':warning: Audit spool records set aside'),
      section(
        `*${records}* of *${service}* were set aside in \`${escapeSlack(event.file)}\` instead of replayed${missing}: ` +
          'check them, and write them to the audit storage by hand.',
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Set aside', slackDate(event.quarantinedAt)],
      ]),
      section(`*Reason*\n${codeBlock(event.reason)}`),
    ],
  };
}

function ledgerBrokenMessage(event: LedgerBrokenEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const at = `${escapeSlack(event.file)} line ${event.line}`;
  return {
    text: `:warning: The evidence ledger of ${service} is broken at ${at}: ${escapeSlack(event.reason, MAX_FALLBACK_ERROR)}`,
    blocks: [
      header(':warning: Audit evidence ledger broken'),
      section(
        `*${service}* found its evidence ledger broken at start, at \`${at}\`. ` +
          'The break is recorded in the ledger; find out who changed the file.',
      ),
      fields([
        ['Service', service],
        ['Ledger', escapeSlack(event.directory)],
        ['Found', slackDate(event.detectedAt)],
      ]),
      section(`*Reason*\n${codeBlock(event.reason)}`),
    ],
  };
}

function spoolReplayedMessage(event: SpoolReplayedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const records = plural(event.recordsReplayed, 'spooled audit record');
  return {
    text: `:inbox_tray: ${records} of ${service} replayed into the audit storage (monitor ${monitor}); the spool is empty.`,
    blocks: [
      header(':inbox_tray: Audit spool replayed'),
      section(`*${records}* of *${service}* are in the audit storage again; the spool is empty.`),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Replayed', slackDate(event.replayedAt)],
      ]),
    ],
  };
}

function testMessage(event: AlertTestEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  return {
    text: `:test_tube: Test alert: audit storage alerts of ${service} reach this channel (monitor ${monitor}). Nothing is wrong.`,
    blocks: [
      header(':test_tube: Test alert, nothing is wrong'),
      section(
        `This is a *test* of the audit storage alerts of *${service}*, sent on request. ` +
          'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Sent', slackDate(event.sentAt)],
      ]),
      context(`Test \`${escapeSlack(event.testId)}\``),
    ],
  };
}

function acknowledgedMessage(event: AlertAcknowledgedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const by = escapeSlack(event.by);
  return {
    text: `:eyes: ${by} acknowledged the audit storage outage of ${service} (monitor ${monitor}).`,
    blocks: [
      header(':eyes: Audit storage outage acknowledged'),
      section(
        `*${by}* is on the audit storage outage of *${service}*: its repeats stop until it recovers.` +
          (event.note === null ? '' : `\n>${escapeSlack(event.note, 1_000)}`),
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Acknowledged', slackDate(event.acknowledgedAt)],
        ['Outage started', slackDate(event.outageStartedAt)],
      ]),
      context(`Outage \`${escapeSlack(event.outageId)}\``),
    ],
  };
}

function testFailedMessage(event: AlertTestFailedEvent): SlackMessage {
  const service = escapeSlack(event.serviceName);
  const monitor = escapeSlack(event.monitor);
  const recipient = escapeSlack(event.recipient);
  return {
    text: `:warning: ${recipient} failed the test alert of ${service} (monitor ${monitor}): it would miss a real alert.`,
    blocks: [
      header(':warning: Alert recipient failed its test'),
      section(
        `A scheduled test of the audit storage alerts of *${service}* did not reach *${recipient}*: ` +
          'it would miss a real alert too. Check its URL, key or flow.',
      ),
      fields([
        ['Service', service],
        ['Monitor', monitor],
        ['Recipient', recipient],
        ['Sent', slackDate(event.sentAt)],
      ]),
      section(`*Reason*\n${codeBlock(event.reason)}`),
      context(`Test \`${escapeSlack(event.testId)}\``),
    ],
  };
}

/** The built-in message of each event type. */
const SLACK_MESSAGES = {
  'audit.storage.unreachable': unreachableMessage,
  'audit.storage.degraded': degradedMessage,
  'audit.storage.recovered': recoveredMessage,
  'audit.storage.capacity': capacityMessage,
  'audit.records.rejected': rejectedMessage,
  'audit.spool.unwritable': spoolUnwritableMessage,
  'audit.spool.replayed': spoolReplayedMessage,
  'audit.spool.quarantined': spoolQuarantinedMessage,
  'audit.ledger.broken': ledgerBrokenMessage,
  'audit.alert.test': testMessage,
  'audit.alert.acknowledged': acknowledgedMessage,
  'audit.alert.test.failed': testFailedMessage,
} satisfies AuditAlertEventRenderers<SlackMessage>;

/** The built-in message of `event`: its notification line, and its blocks under a header. */
export function renderSlackMessage(event: AuditAlertEvent): SlackMessage {
  return renderEvent(SLACK_MESSAGES, event);
}

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
import { alertLabel, percent, plural, spoolFigures } from './message-text.util.js';
import { escapeTeams, teamsDate } from './teams-markdown.util.js';

/** An element of an Adaptive Card's `body`. */
export type AdaptiveElement = Readonly<Record<string, unknown>>;

/** Longest text taken from the event (service, monitor), in characters. */
export const MAX_NAME = 200;

/** The colors of a card's headline, as Adaptive Cards name them. */
export type HeadlineColor = 'Attention' | 'Warning' | 'Good' | 'Accent';

export const headline = (text: string, color: HeadlineColor): AdaptiveElement => ({
  type: 'TextBlock',
  text,
  size: 'Large',
  weight: 'Bolder',
  color,
  wrap: true,
});
const paragraph = (text: string): AdaptiveElement => ({ type: 'TextBlock', text, wrap: true });
const facts = (pairs: readonly [string, string][]): AdaptiveElement => ({
  type: 'FactSet',
  facts: pairs.map(([title, value]) => ({ title, value })),
});
/** A labelled text of the event's (the last error, a reason), set in monospace: at most 1,024 characters, escaped at most twice that. */
const detail = (label: string, text: string): AdaptiveElement[] => [
  { type: 'TextBlock', text: label, weight: 'Bolder', wrap: true },
  { type: 'TextBlock', text: escapeTeams(text, 2_048), fontType: 'Monospace', wrap: true },
];

function unreachableBody(event: StorageUnreachableEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const duration = humanDuration(event.unreachableDurationMs);
  return [
    paragraph(
      `**${service}** has been unable to write its audit trail for **${duration}**: ` +
        `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Failing since', teamsDate(event.firstFailureAt)],
      ['Alert', alertLabel(event.occurrence)],
      ['Outage', escapeTeams(event.outageId, MAX_NAME)],
    ]),
    ...detail('Last error', event.lastError),
  ];
}

function degradedBody(event: StorageDegradedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `**${service}** is losing part of its audit trail: **${event.failures} of ${plural(event.writes, 'write')}** ` +
        `(${percent(event.failureRatio)}) failed in the last **${humanDuration(event.windowMs)}**.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Failing since', teamsDate(event.firstFailureAt)],
      ['Alert', alertLabel(event.occurrence, 'degraded')],
      ['Outage', escapeTeams(event.outageId, MAX_NAME)],
    ]),
    ...detail('Last error', event.lastError),
  ];
}

function recoveredBody(event: StorageRecoveredEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const failed = plural(event.writesFailed, 'audit write');
  return [
    paragraph(
      `**${service}** is writing its audit trail again. The outage lasted ` +
        `**${humanDuration(event.outageDurationMs)}**; **${failed}** failed during it` +
        `${spoolFigures(event, (figure) => `**${figure}**`)}.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Outage started', teamsDate(event.outageStartedAt)],
      ['Recovered', teamsDate(event.recoveredAt)],
      ['Outage', escapeTeams(event.outageId, MAX_NAME)],
    ]),
  ];
}

const CAPACITY_HEADLINES: Readonly<
  Record<StorageCapacityEvent['level'], { readonly headline: string; readonly color: HeadlineColor }>
> = {
  warning: { headline: '⚠️ Audit storage filling up', color: 'Warning' },
  critical: { headline: '🚨 Audit storage nearly full', color: 'Attention' },
  normal: { headline: '✅ Audit storage back under its capacity warning', color: 'Good' },
};

function capacityBody(event: StorageCapacityEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const usage = percent(event.usedRatio);
  const amount = event.used !== null && event.total !== null ? `${event.used} of ${event.total}` : usage;
  return [
    paragraph(
      event.level === 'normal'
        ? `**${service}**'s audit storage is back at **${usage}** used, under the warning level of ${percent(event.threshold)}.`
        : `**${service}**'s audit storage is **${usage}** full, past the ${event.level} level of ${percent(event.threshold)}.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Used', escapeTeams(amount, MAX_NAME)],
      ['Checked', teamsDate(event.checkedAt)],
      ['Capacity episode', escapeTeams(event.outageId, MAX_NAME)],
    ]),
  ];
}

function rejectedBody(event: RecordsRejectedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `The audit storage of **${service}** answers, but has refused **${plural(event.rejectedRecords, 'record')}** ` +
        `over ${humanDuration(event.rejectedDurationMs)}: these audit records are lost. The storage is not down; the records are refused.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Rejecting since', teamsDate(event.firstRejectedAt)],
      ['Alert', alertLabel(event.occurrence)],
      ['Rejections', escapeTeams(event.outageId, MAX_NAME)],
    ]),
    ...detail('Last error', event.lastError),
  ];
}

function spoolUnwritableBody(event: SpoolUnwritableEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `**${service}** cannot keep audit records in its spool: a write that fails now loses its record ` +
        `(${plural(event.recordsLost, 'record')} so far).`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Failed', teamsDate(event.failedAt)],
      ['Spool episode', escapeTeams(event.outageId, MAX_NAME)],
    ]),
    ...detail('Last error', event.lastError),
  ];
}

function spoolQuarantinedBody(event: SpoolQuarantinedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const missing = event.recordsMissing > 0 ? `, ${plural(event.recordsMissing, 'record')} missing` : '';
  return [
    paragraph(
      `**${plural(event.recordsQuarantined, 'spooled audit record')}** of **${service}** were set aside in ` +
        `${escapeTeams(event.file, MAX_NAME)} instead of replayed${missing}: check them, and write them to the audit storage by hand.`,
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Set aside', teamsDate(event.quarantinedAt)],
    ]),
    ...detail('Reason', event.reason),
  ];
}

function ledgerBrokenBody(event: LedgerBrokenEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `**${service}** found its evidence ledger broken at start, at ${escapeTeams(event.file, MAX_NAME)} line ${event.line}. ` +
        'The break is recorded in the ledger; find out who changed the file.',
    ),
    facts([
      ['Service', service],
      ['Ledger', escapeTeams(event.directory, MAX_NAME)],
      ['Found', teamsDate(event.detectedAt)],
    ]),
    ...detail('Reason', event.reason),
  ];
}

function spoolReplayedBody(event: SpoolReplayedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `**${plural(event.recordsReplayed, 'spooled audit record')}** of **${service}** are in the audit storage ` +
        'again; the spool is empty.',
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Replayed', teamsDate(event.replayedAt)],
    ]),
  ];
}

function testBody(event: AlertTestEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  return [
    paragraph(
      `This is a **test** of the audit storage alerts of **${service}**, sent on request. ` +
        'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Sent', teamsDate(event.sentAt)],
      ['Test', escapeTeams(event.testId, MAX_NAME)],
    ]),
  ];
}

function acknowledgedBody(event: AlertAcknowledgedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const by = escapeTeams(event.by, MAX_NAME);
  return [
    paragraph(`**${by}** is on the audit storage outage of **${service}**: its repeats stop until it recovers.`),
    ...(event.note === null ? [] : [paragraph(escapeTeams(event.note, MAX_NAME * 4))]),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Acknowledged', teamsDate(event.acknowledgedAt)],
      ['Outage started', teamsDate(event.outageStartedAt)],
      ['Outage', escapeTeams(event.outageId, MAX_NAME)],
    ]),
  ];
}
function testFailedBody(event: AlertTestFailedEvent): AdaptiveElement[] {
  const service = escapeTeams(event.serviceName, MAX_NAME);
  const recipient = escapeTeams(event.recipient, MAX_NAME);
  return [
    paragraph(
      `A scheduled test of the audit storage alerts of **${service}** did not reach **${recipient}**: ` +
        'it would miss a real alert too. Check its URL, key or flow.',
    ),
    facts([
      ['Service', service],
      ['Monitor', escapeTeams(event.monitor, MAX_NAME)],
      ['Recipient', recipient],
      ['Attempts', String(event.attempts)],
      ['Sent', teamsDate(event.sentAt)],
      ['Test', escapeTeams(event.testId, MAX_NAME)],
    ]),
    paragraph(`**Reason**: ${escapeTeams(event.reason, MAX_NAME * 4)}`),
  ];
}

/** The built-in headline of a card, the color of its card, and what follows it. */
export interface TeamsCard {
  readonly headline: string;
  readonly color: HeadlineColor;
  readonly body: AdaptiveElement[];
}

/** The built-in card of each event type. */
const TEAMS_CARDS = {
  'audit.storage.unreachable': (event) => ({
    headline: '🚨 Audit storage unreachable',
    color: 'Attention',
    body: unreachableBody(event),
  }),
  'audit.storage.degraded': (event) => ({
    headline: '⚠️ Audit storage degraded',
    color: 'Warning',
    body: degradedBody(event),
  }),
  'audit.storage.recovered': (event) => ({
    headline: '✅ Audit storage recovered',
    color: 'Good',
    body: recoveredBody(event),
  }),
  'audit.storage.capacity': (event) => ({ ...CAPACITY_HEADLINES[event.level], body: capacityBody(event) }),
  'audit.records.rejected': (event) => ({
    headline: '⚠️ Audit records rejected',
    color: 'Warning',
    body: rejectedBody(event),
  }),
  'audit.spool.unwritable': (event) => ({
    headline: '🚨 Audit spool unwritable',
    color: 'Attention',
    body: spoolUnwritableBody(event),
  }),
  'audit.spool.replayed': (event) => ({
    headline: '📥 Audit spool replayed',
    color: 'Good',
    body: spoolReplayedBody(event),
  }),
  'audit.spool.quarantined': (event) => ({
    headline: '⚠️ Audit spool records set aside',
    color: 'Warning',
    body: spoolQuarantinedBody(event),
  }),
  'audit.ledger.broken': (event) => ({
    headline: '⚠️ Audit evidence ledger broken',
    color: 'Warning',
    body: ledgerBrokenBody(event),
  }),
  'audit.alert.test': (event) => ({
    headline: '🧪 Test alert, nothing is wrong',
    color: 'Accent',
    body: testBody(event),
  }),
  'audit.alert.acknowledged': (event) => ({
    headline: '👀 Audit storage outage acknowledged',
    color: 'Accent',
    body: acknowledgedBody(event),
  }),
  'audit.alert.test.failed': (event) => ({
    headline: '⚠️ Alert recipient failed its test',
    color: 'Warning',
    body: testFailedBody(event),
  }),
} satisfies AuditAlertEventRenderers<TeamsCard>;

/** The built-in card of `event`: its headline, the headline's color, and the body under it. */
export function teamsCard(event: AuditAlertEvent): TeamsCard {
  return renderEvent(TEAMS_CARDS, event);
}

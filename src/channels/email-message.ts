import type { AuditAlertLink } from './channel-link-options.interface.js';
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
import { alertLabel, capacityUsed, percent, plural, spoolFigures, truncate } from './message-text.util.js';

/** What an email says of an event, before it is written as text and as HTML. */
interface EmailContent {
  /** The subject: state, service and monitor. */
  readonly subject: string;
  /** The first line of the body. */
  readonly heading: string;
  /** What happened, in a sentence or two. */
  readonly summary: string;
  readonly facts: readonly (readonly [name: string, value: string])[];
  /** The last error, quoted as it is (escaped in HTML). */
  readonly error?: string;
  /** The colour of the heading in HTML. */
  readonly tone: 'alert' | 'warning' | 'good' | 'info';
}

/** The parts of an alert email. */
interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Longest subject, and longest last error quoted, in characters. */
const MAX_SUBJECT = 200;
const MAX_ERROR = 4_000;

const TONES = { alert: '#b00020', warning: '#8a6d00', good: '#1b7f3b', info: '#1f5fbf' } as const;

const when = (date: Date): string => date.toISOString();

function unreachable(event: StorageUnreachableEvent): EmailContent {
  const duration = humanDuration(event.unreachableDurationMs);
  return {
    subject: `[${event.serviceName}] Audit storage unreachable for ${duration} (monitor ${event.monitor})${event.occurrence > 1 ? `, ${alertLabel(event.occurrence)}` : ''}`,
    heading: 'Audit storage unreachable',
    summary:
      `${event.serviceName} has been unable to write its audit trail for ${duration}: ` +
      `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Failing since', when(event.firstFailureAt)],
      ['Alert', alertLabel(event.occurrence)],
      ['Outage', event.outageId],
    ],
    error: event.lastError,
    tone: 'alert',
  };
}

function degraded(event: StorageDegradedEvent): EmailContent {
  const window = humanDuration(event.windowMs);
  const share = percent(event.failureRatio);
  return {
    subject: `[${event.serviceName}] Audit storage degraded: ${share} of writes failing (monitor ${event.monitor})${event.occurrence > 1 ? `, ${alertLabel(event.occurrence, 'degraded')}` : ''}`,
    heading: 'Audit storage degraded',
    summary:
      `${event.serviceName} is losing part of its audit trail: ${event.failures} of ` +
      `${plural(event.writes, 'write')} (${share}) failed in the last ${window}.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Failing since', when(event.firstFailureAt)],
      ['Alert', alertLabel(event.occurrence, 'degraded')],
      ['Outage', event.outageId],
    ],
    error: event.lastError,
    tone: 'warning',
  };
}

function recovered(event: StorageRecoveredEvent): EmailContent {
  const duration = humanDuration(event.outageDurationMs);
  return {
    subject: `[${event.serviceName}] Audit storage recovered after ${duration} (monitor ${event.monitor})`,
    heading: 'Audit storage recovered',
    summary:
      `${event.serviceName} is writing its audit trail again. The outage lasted ${duration}; ` +
      `${plural(event.writesFailed, 'audit write')} failed during it${spoolFigures(event)}.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Outage started', when(event.outageStartedAt)],
      ['Recovered', when(event.recoveredAt)],
      ['Outage', event.outageId],
    ],
    tone: 'good',
  };
}

const CAPACITY_HEADINGS = {
  warning: 'Audit storage filling up',
  critical: 'Audit storage nearly full',
  normal: 'Audit storage back under its capacity warning',
} as const;

function capacity(event: StorageCapacityEvent): EmailContent {
  const usage = percent(event.usedRatio);
  return {
    subject: `[${event.serviceName}] ${CAPACITY_HEADINGS[event.level]}: ${usage} used (monitor ${event.monitor})`,
    heading: CAPACITY_HEADINGS[event.level],
    summary:
      event.level === 'normal'
        ? `The audit storage of ${event.serviceName} is back at ${usage} used, under the warning level of ${percent(event.threshold)}.`
        : `The audit storage of ${event.serviceName} is ${usage} full, past the ${event.level} level of ${percent(event.threshold)}.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Used', capacityUsed(event)],
      ['Level', event.level],
      ['Checked', when(event.checkedAt)],
      ['Capacity episode', event.outageId],
    ],
    tone: event.level === 'normal' ? 'good' : event.level === 'critical' ? 'alert' : 'warning',
  };
}

function rejected(event: RecordsRejectedEvent): EmailContent {
  const duration = humanDuration(event.rejectedDurationMs);
  return {
    subject: `[${event.serviceName}] Audit records rejected: ${plural(event.rejectedRecords, 'record')} lost (monitor ${event.monitor})`,
    heading: 'Audit records rejected',
    summary:
      `The audit storage of ${event.serviceName} answers, but has refused ${plural(event.rejectedRecords, 'record')} ` +
      `over ${duration}: these audit records are lost. The storage is not down; the records are refused.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Rejecting since', when(event.firstRejectedAt)],
      ['Alert', alertLabel(event.occurrence)],
      ['Rejections', event.outageId],
    ],
    error: event.lastError,
    tone: 'warning',
  };
}

function spoolUnwritable(event: SpoolUnwritableEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Audit spool unwritable (monitor ${event.monitor})`,
    heading: 'Audit spool unwritable',
    summary:
      `${event.serviceName} cannot keep audit records in its spool: a write that fails now loses its record ` +
      `(${plural(event.recordsLost, 'record')} so far).`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Failed', when(event.failedAt)],
      ['Spool episode', event.outageId],
    ],
    error: event.lastError,
    tone: 'alert',
  };
}

function spoolQuarantined(event: SpoolQuarantinedEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Audit records set aside from the spool (monitor ${event.monitor})`,
    heading: 'Audit records quarantined',
    summary:
      `${event.serviceName} set ${plural(event.recordsQuarantined, 'spooled audit record')} aside instead of replaying ` +
      `${event.recordsQuarantined === 1 ? 'it' : 'them'}; ${plural(event.recordsMissing, 'record')} missing from the spool. ` +
      `They are kept in the quarantine file for review.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Set aside', when(event.quarantinedAt)],
      ['Quarantine file', event.file],
      ['Spool episode', event.outageId],
    ],
    error: event.reason,
    tone: 'alert',
  };
}

function ledgerBroken(event: LedgerBrokenEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Audit evidence ledger broken at ${event.file} line ${event.line}`,
    heading: 'Audit evidence ledger broken',
    summary:
      `${event.serviceName} found its evidence ledger broken at start. The break is recorded in the ledger; ` +
      'find out who changed the file.',
    facts: [
      ['Service', event.serviceName],
      ['Ledger', event.directory],
      ['File', `${event.file} line ${event.line}`],
      ['Found', when(event.detectedAt)],
    ],
    error: event.reason,
    tone: 'warning',
  };
}

function spoolReplayed(event: SpoolReplayedEvent): EmailContent {
  const records = plural(event.recordsReplayed, 'spooled audit record');
  return {
    subject: `[${event.serviceName}] Audit spool replayed: ${records} (monitor ${event.monitor})`,
    heading: 'Audit spool replayed',
    summary: `${records} of ${event.serviceName} are in the audit storage again; the spool is empty.`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Replayed', when(event.replayedAt)],
    ],
    tone: 'info',
  };
}

function test(event: AlertTestEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Test alert, nothing is wrong (monitor ${event.monitor})`,
    heading: 'Test alert, nothing is wrong',
    summary:
      `This is a test of the audit storage alerts of ${event.serviceName}, sent on request. ` +
      'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Sent', when(event.sentAt)],
      ['Test', event.testId],
    ],
    tone: 'info',
  };
}

function acknowledged(event: AlertAcknowledgedEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Audit storage outage acknowledged by ${event.by} (monitor ${event.monitor})`,
    heading: 'Audit storage outage acknowledged',
    summary:
      `${event.by} is on the audit storage outage of ${event.serviceName}: its repeats stop until it recovers.` +
      (event.note === null ? '' : ` Note: ${event.note}`),
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Acknowledged by', event.by],
      ['Acknowledged', when(event.acknowledgedAt)],
      ['Outage started', when(event.outageStartedAt)],
      ['Outage', event.outageId],
    ],
    tone: 'info',
  };
}
function testFailed(event: AlertTestFailedEvent): EmailContent {
  return {
    subject: `[${event.serviceName}] Alert recipient failed its test: ${event.recipient} (monitor ${event.monitor})`,
    heading: 'Alert recipient failed its test',
    summary:
      `A scheduled test of the audit storage alerts of ${event.serviceName} did not reach ${event.recipient}: ` +
      'it would miss a real alert too. Check its URL, key or flow.',
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Recipient', event.recipient],
      ['Attempts', String(event.attempts)],
      ['Sent', when(event.sentAt)],
      ['Test', event.testId],
    ],
    error: event.reason,
    tone: 'warning',
  };
}

/** The built-in email of each event type. */
const EMAIL_CONTENTS = {
  'audit.storage.unreachable': unreachable,
  'audit.storage.degraded': degraded,
  'audit.storage.recovered': recovered,
  'audit.storage.capacity': capacity,
  'audit.records.rejected': rejected,
  'audit.spool.unwritable': spoolUnwritable,
  'audit.spool.replayed': spoolReplayed,
  'audit.spool.quarantined': spoolQuarantined,
  'audit.ledger.broken': ledgerBroken,
  'audit.alert.test': test,
  'audit.alert.acknowledged': acknowledged,
  'audit.alert.test.failed': testFailed,
} satisfies AuditAlertEventRenderers<EmailContent>;

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML element's content or a quoted attribute. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]!);
}

/** A header's value on one line: control characters (a line break would start a header of its own) become spaces. */
function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return truncate(text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim(), max);
}

function textPart(content: EmailContent, links: readonly AuditAlertLink[]): string {
  const width = Math.max(...content.facts.map(([name]) => name.length));
  const lines = [
    content.heading,
    '',
    content.summary,
    '',
    ...content.facts.map(([name, value]) => `${`${name}:`.padEnd(width + 2)}${value}`),
  ];
  if (content.error !== undefined)
    lines.push('', 'Last error:', `    ${truncate(content.error, MAX_ERROR).replace(/\n/g, '\n    ')}`);
  if (links.length > 0) lines.push('', 'Links:', ...links.map(({ text, url }) => `    ${text}: ${url}`));
  lines.push('', '-- ', 'Sent by nestjs-audit-alert.');
  return `${lines.join('\n')}\n`;
}

function htmlPart(content: EmailContent, links: readonly AuditAlertLink[]): string {
  const cell = 'padding:2px 12px 2px 0;vertical-align:top';
  const facts = content.facts
    .map(
      ([name, value]) =>
        `<tr><th style="${cell};text-align:left">${escapeHtml(name)}</th><td style="${cell}">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const error =
    content.error === undefined
      ? ''
      : `<p style="margin:16px 0 4px"><strong>Last error</strong></p>` +
        `<pre style="margin:0;padding:8px;background:#f4f4f4;white-space:pre-wrap;word-break:break-word">${escapeHtml(truncate(content.error, MAX_ERROR))}</pre>`;
  const linkList =
    links.length === 0
      ? ''
      : '<p style="margin:16px 0 0">' +
        links.map(({ text, url }) => `<a href="${escapeHtml(url)}">${escapeHtml(text)}</a>`).join(' &middot; ') +
        '</p>';
  return (
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px;color:#222">' +
    `<h2 style="margin:0 0 12px;color:${TONES[content.tone]}">${escapeHtml(content.heading)}</h2>` +
    `<p style="margin:0 0 12px">${escapeHtml(content.summary)}</p>` +
    `<table style="border-collapse:collapse">${facts}</table>` +
    error +
    linkList +
    '<p style="margin:16px 0 0;color:#777;font-size:12px">Sent by nestjs-audit-alert.</p>' +
    '</body></html>\n'
  );
}

/**
 * Renders `event` as an email: a subject, a plain-text part and an HTML part,
 * every text of the event escaped in the HTML one.
 * @param summary A headline of the application's, in place of the built-in subject.
 * @param links The monitor's links (runbook, dashboard), listed after the facts.
 */
export function renderEmail(
  event: AuditAlertEvent,
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): RenderedEmail {
  const content = renderEvent(EMAIL_CONTENTS, event);
  return {
    subject: oneLine(summary ?? content.subject, MAX_SUBJECT),
    text: textPart(content, links),
    html: htmlPart(content, links),
  };
}

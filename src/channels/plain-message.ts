import { type AuditAlertEventRenderers, renderEvent } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { humanDuration } from './human-duration.util.js';
import { alertLabel, capacityUsed, percent, plural, spoolFigures } from './message-text.util.js';

/** How serious an event reads: its color in Discord, its icon in Google Chat. */
export type PlainTone = 'alert' | 'warning' | 'good' | 'info';

/**
 * What an event says, in plain text, before a receiver's own escaping and
 * layout: what Opsgenie, Google Chat and Discord build their messages from,
 * and where the Teams card takes its headline and color.
 */
export interface PlainMessage {
  /** The title, with its emoji: `🚨 Audit storage unreachable`. */
  readonly title: string;
  readonly tone: PlainTone;
  /** One line saying it all but the error: `Audit storage of billing-api unreachable for 2m 5s (monitor default)`. */
  readonly headline: string;
  /** A sentence or two for a person. */
  readonly text: string;
  /** Name and value; a date is shown by each receiver its own way. */
  readonly facts: readonly (readonly [name: string, value: string | Date])[];
  /** The last error, when the event has one. */
  readonly error: string | null;
  /** What names the episode (`Outage`, `Test`…) and its id. */
  readonly key: readonly [name: string, id: string];
}

/** The plain message of each event type. */
const PLAIN_MESSAGES = {
  'audit.storage.unreachable': (event) => {
    const duration = humanDuration(event.unreachableDurationMs);
    return {
      title: '🚨 Audit storage unreachable',
      tone: 'alert',
      headline: `Audit storage of ${event.serviceName} unreachable for ${duration} (monitor ${event.monitor})`,
      text:
        `${event.serviceName} has been unable to write its audit trail for ${duration}: ` +
        `${plural(event.consecutiveFailures, 'failed write')} since the outage began.`,
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Failing since', event.firstFailureAt],
        ['Alert', alertLabel(event.occurrence)],
      ],
      error: event.lastError,
      key: ['Outage', event.outageId],
    };
  },
  'audit.storage.degraded': (event) => {
    const window = humanDuration(event.windowMs);
    return {
      title: '⚠️ Audit storage degraded',
      tone: 'warning',
      headline:
        `Audit storage of ${event.serviceName} degraded: ${percent(event.failureRatio)} of writes failing ` +
        `over ${window} (monitor ${event.monitor})`,
      text:
        `${event.serviceName} is losing part of its audit trail: ${event.failures} of ` +
        `${plural(event.writes, 'write')} (${percent(event.failureRatio)}) failed in the last ${window}.`,
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Failing since', event.firstFailureAt],
        ['Alert', alertLabel(event.occurrence, 'degraded')],
      ],
      error: event.lastError,
      key: ['Outage', event.outageId],
    };
  },
  'audit.storage.recovered': (event) => {
    const duration = humanDuration(event.outageDurationMs);
    const failed = plural(event.writesFailed, 'audit write');
    return {
      title: '✅ Audit storage recovered',
      tone: 'good',
      headline: `Audit storage of ${event.serviceName} recovered after ${duration} (monitor ${event.monitor})`,
      text:
        `${event.serviceName} is writing its audit trail again. The outage lasted ${duration}; ` +
        `${failed} failed during it${spoolFigures(event)}.`,
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Outage started', event.outageStartedAt],
        ['Recovered', event.recoveredAt],
      ],
      error: null,
      key: ['Outage', event.outageId],
    };
  },
  'audit.storage.capacity': (event) => {
    const usage = percent(event.usedRatio);
    const normal = event.level === 'normal';
    return {
      title: {
        warning: '⚠️ Audit storage filling up',
        critical: '🚨 Audit storage nearly full',
        normal: '✅ Audit storage back under its capacity warning',
      }[event.level],
      tone: ({ warning: 'warning', critical: 'alert', normal: 'good' } as const)[event.level],
      headline: `Audit storage of ${event.serviceName} at ${usage} (monitor ${event.monitor}, level ${event.level})`,
      text: normal
        ? `${event.serviceName}'s audit storage is back at ${usage} used, under the warning level of ${percent(event.threshold)}.`
        : `${event.serviceName}'s audit storage is ${usage} full, past the ${event.level} level of ${percent(event.threshold)}.`,
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Used', capacityUsed(event)],
        ['Checked', event.checkedAt],
      ],
      error: null,
      key: ['Capacity episode', event.outageId],
    };
  },
  'audit.records.rejected': (event) => {
    const duration = humanDuration(event.rejectedDurationMs);
    const records = plural(event.rejectedRecords, 'record');
    return {
      title: '⚠️ Audit records rejected',
      tone: 'warning',
      headline: `${event.serviceName} is losing audit records: ${records} rejected in ${duration} (monitor ${event.monitor})`,
      text:
        `The audit storage of ${event.serviceName} answers, but has refused ${records} over ${duration}: ` +
        'these audit records are lost. The storage is not down; the records are refused.',
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Rejecting since', event.firstRejectedAt],
        ['Alert', alertLabel(event.occurrence)],
      ],
      error: event.lastError,
      key: ['Rejections', event.outageId],
    };
  },
  'audit.spool.unwritable': (event) => ({
    title: '🚨 Audit spool unwritable',
    tone: 'alert',
    headline: `The audit spool of ${event.serviceName} cannot keep records (monitor ${event.monitor})`,
    text:
      `${event.serviceName} cannot keep audit records in its spool: a write that fails now loses its record ` +
      `(${plural(event.recordsLost, 'record')} so far).`,
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Failed', event.failedAt],
    ],
    error: event.lastError,
    key: ['Spool episode', event.outageId],
  }),
  'audit.spool.quarantined': (event) => {
    const records = plural(event.recordsQuarantined, 'spooled audit record');
    const missing = event.recordsMissing > 0 ? `, ${plural(event.recordsMissing, 'record')} missing` : '';
    return {
      title: '⚠️ Audit spool records set aside',
      tone: 'warning',
      headline: `${records} of ${event.serviceName} set aside from the spool${missing} (monitor ${event.monitor})`,
      text:
        `${records} of ${event.serviceName} were set aside in ${event.file} instead of replayed${missing}: ` +
        'check them, and write them to the audit storage by hand.',
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Quarantine file', event.file],
        ['Set aside', event.quarantinedAt],
      ],
      error: event.reason,
      key: ['Quarantine', event.outageId],
    };
  },
  'audit.ledger.broken': (event) => ({
    title: '⚠️ Audit evidence ledger broken',
    tone: 'warning',
    headline: `The evidence ledger of ${event.serviceName} is broken at ${event.file} line ${event.line}`,
    text:
      `${event.serviceName} found its evidence ledger in ${event.directory} broken at start: ${event.reason}. ` +
      'The break is recorded in the ledger; find out who changed the file.',
    facts: [
      ['Service', event.serviceName],
      ['Ledger', event.directory],
      ['File', event.file],
      ['Found', event.detectedAt],
    ],
    error: event.reason,
    key: ['Ledger check', event.outageId],
  }),
  'audit.spool.replayed': (event) => {
    const records = plural(event.recordsReplayed, 'spooled audit record');
    return {
      title: '📥 Audit spool replayed',
      tone: 'good',
      headline: `${records} of ${event.serviceName} replayed into the audit storage (monitor ${event.monitor})`,
      text: `${records} of ${event.serviceName} are in the audit storage again; the spool is empty.`,
      facts: [
        ['Service', event.serviceName],
        ['Monitor', event.monitor],
        ['Replayed', event.replayedAt],
      ],
      error: null,
      key: ['Replay', event.outageId],
    };
  },
  'audit.alert.test': (event) => ({
    title: '🧪 Test alert, nothing is wrong',
    tone: 'info',
    headline: `Test alert: audit storage alerts of ${event.serviceName} reach this channel (monitor ${event.monitor})`,
    text:
      `This is a test of the audit storage alerts of ${event.serviceName}, sent on request. ` +
      'No outage is open and nothing needs doing: a real alert would look like this one and come here.',
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Sent', event.sentAt],
    ],
    error: null,
    key: ['Test', event.testId],
  }),
  'audit.alert.acknowledged': (event) => ({
    title: '👀 Audit storage outage acknowledged',
    tone: 'info',
    headline: `${event.by} acknowledged the audit storage outage of ${event.serviceName} (monitor ${event.monitor})`,
    text:
      `${event.by} is on the audit storage outage of ${event.serviceName}: its repeats stop until it recovers.` +
      (event.note === null ? '' : ` Note: ${event.note}`),
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Acknowledged by', event.by],
      ['Acknowledged', event.acknowledgedAt],
      ['Outage started', event.outageStartedAt],
    ],
    error: null,
    key: ['Outage', event.outageId],
  }),
  'audit.alert.test.failed': (event) => ({
    title: '⚠️ Alert recipient failed its test',
    tone: 'warning',
    headline: `${event.recipient} failed the test alert of ${event.serviceName} (monitor ${event.monitor})`,
    text:
      `A scheduled test of the audit storage alerts of ${event.serviceName} did not reach ${event.recipient}: ` +
      'it would miss a real alert too. Check its URL, key or flow.',
    facts: [
      ['Service', event.serviceName],
      ['Monitor', event.monitor],
      ['Recipient', event.recipient],
      ['Attempts', String(event.attempts)],
      ['Sent', event.sentAt],
    ],
    error: event.reason,
    key: ['Test', event.testId],
  }),
} satisfies AuditAlertEventRenderers<PlainMessage>;

/** What `event` says in plain text, for a receiver to escape and lay out its own way. */
export function plainMessage(event: AuditAlertEvent): PlainMessage {
  return renderEvent<PlainMessage, []>(PLAIN_MESSAGES, event);
}

/** A date in plain text, for a receiver that cannot show it in each reader's time zone: `2026-01-01 12:00:00 UTC`. */
export function plainDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

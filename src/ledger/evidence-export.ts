import { describeReceived } from '../audit-alert.messages.js';
import type { LedgerLine } from './ledger-entry.interface.js';
import { collectEpisodes, type LedgerEpisode, timeOf } from './ledger-episodes.js';

/*
 * The evidence an auditor is handed, made from the ledger's lines: a CSV of the
 * outage episodes (one row each, what PCI DSS 10.7.3.b asks of each failure),
 * or the lines themselves as JSON Lines (what shows that none is missing).
 * Pure: the lines come in, the text goes out.
 */

/** How {@link exportEvidence} writes the evidence. */
export type EvidenceFormat = 'csv' | 'jsonl';

/** Options of {@link exportEvidence}. */
interface EvidenceExportOptions {
  /** Start of the period, inclusive. @default the beginning of the ledger */
  readonly from?: Date;
  /** End of the period, inclusive. @default the end of the ledger */
  readonly to?: Date;
  /** `csv`: one row per outage episode; `jsonl`: the ledger's lines of the period, as written. */
  readonly format: EvidenceFormat;
}

/** The columns of the CSV export, in order. */
export const EVIDENCE_CSV_COLUMNS = [
  'outage_id',
  'service',
  'monitor',
  'kind',
  'started_at',
  'first_alert_at',
  'ended_at',
  'duration_ms',
  'alerts_sent',
  'recipients',
  'deliveries_failed',
  'acknowledged_by',
  'acknowledged_at',
  'writes_failed',
  'records_spooled',
  'records_lost',
  'cause',
  'ticket',
  'alerts_held',
  'spool_failed_at',
  'records_replayed',
  'replay_finished_at',
  'records_quarantined',
] as const;

const FORMATS: readonly EvidenceFormat[] = ['csv', 'jsonl'];
const OPTION_KEYS = ['from', 'to', 'format'];

/**
 * Turns ledger lines into the evidence of a period.
 *
 * - `csv`: one row per outage episode (an outage, whether it stayed degraded
 *   or became unreachable; a capacity episode; a run of rejected records) that
 *   overlaps the period, RFC 4180 (CRLF line ends, quoted where needed), times
 *   in UTC ISO 8601, and every cell that a spreadsheet would read as a formula
 *   prefixed with `'`. The columns are {@link EVIDENCE_CSV_COLUMNS}; an unknown
 *   value is an empty cell. See the evidence documentation for where each
 *   column comes from.
 * - `jsonl`: each line whose `at` falls in the period, as written (`seq`,
 *   `prev` and `hash` included), one per line, so that a gap shows.
 *
 * Lines that are not ledger lines (for instance `null`, where a reader could
 * not parse one) are left out: `verifyAuditLedger()` is what reports them.
 * @throws TypeError naming the option when `options` is invalid.
 */
export function exportEvidence(lines: Iterable<LedgerLine | null>, options: EvidenceExportOptions): string {
  if (lines === null || typeof (lines as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') {
    invalid('lines', lines, 'an iterable of ledger lines');
  }
  const { from, to, format } = readExportOptions(options);
  const inPeriod = (start: number, end: number): boolean => start <= to && end >= from;
  const all = [...lines].filter(isLedgerLine);
  if (format === 'jsonl') {
    return all
      .filter((line) => {
        const at = timeOf(line.at);
        return at !== null && inPeriod(at, at);
      })
      .map((line) => `${JSON.stringify(line)}\n`)
      .join('');
  }
  const rows = collectEpisodes(all)
    .filter((episode) => {
      const start = episode.startedAt ?? episode.firstSeenAt;
      // An outage or a capacity episode that has not ended is still going on; a run of rejected records has no
      // closing event, so it spans its own events.
      const end = episode.endedAt ?? (episode.episodeKind === 'rejected' ? episode.lastSeenAt : Infinity);
      return inPeriod(start, end);
    })
    .sort((a, b) => (a.startedAt ?? a.firstSeenAt) - (b.startedAt ?? b.firstSeenAt))
    .map(rowOf);
  return [EVIDENCE_CSV_COLUMNS, ...rows].map((cells) => `${cells.map(csvCell).join(',')}\r\n`).join('');
}

/** Checks the options, and gives the period as epoch milliseconds. */
function readExportOptions(options: EvidenceExportOptions): { from: number; to: number; format: EvidenceFormat } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    invalid('options', options, `an object with ${OPTION_KEYS.join(', ')}`);
  }
  const unknown = Object.keys(options).find((key) => !OPTION_KEYS.includes(key));
  if (unknown !== undefined) {
    throw new TypeError(`exportEvidence(): unknown option "${unknown}"; the options are: ${OPTION_KEYS.join(', ')}.`);
  }
  if (!FORMATS.includes(options.format)) invalid('format', options.format, `one of ${FORMATS.join(', ')}`);
  const from = readDate(options.from, 'from', -Infinity);
  const to = readDate(options.to, 'to', Infinity);
  if (from > to) invalid('to', options.to, `a date at or after "from" (${options.from!.toISOString()})`);
  return { from, to, format: options.format };
}

function readDate(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) invalid(key, value, 'a valid Date, or undefined');
  return value.getTime();
}

function invalid(field: string, value: unknown, allowed: string): never {
  throw new TypeError(
    `exportEvidence(): invalid "${field}": received ${describeReceived(value)}; expected ${allowed}.`,
  );
}

function isLedgerLine(line: LedgerLine | null): line is LedgerLine {
  return line !== null && typeof line === 'object' && typeof line.kind === 'string' && typeof line.at === 'string';
}

function rowOf(episode: LedgerEpisode): (string | number | null)[] {
  const deliveries = [...episode.deliveries.values()];
  const recipients = [...new Set(deliveries.filter((d) => d.result === 'delivered').map((d) => d.recipient))];
  const kind =
    episode.episodeKind === 'outage' ? (episode.reachedUnreachable ? 'unreachable' : 'degraded') : episode.episodeKind;
  const row: Record<(typeof EVIDENCE_CSV_COLUMNS)[number], string | number | null> = {
    outage_id: episode.outageId,
    service: episode.service,
    monitor: episode.monitor,
    kind,
    started_at: iso(episode.startedAt),
    first_alert_at: iso(episode.firstAlertAt),
    ended_at: iso(episode.endedAt),
    duration_ms:
      episode.durationMs ??
      (episode.endedAt !== null && episode.startedAt !== null ? episode.endedAt - episode.startedAt : null),
    alerts_sent: episode.sent.size,
    recipients: recipients.join(';'),
    deliveries_failed: deliveries.filter((d) => d.result !== 'delivered').length,
    acknowledged_by: episode.acknowledgedBy,
    acknowledged_at: iso(episode.acknowledgedAt),
    writes_failed: episode.writesFailed,
    records_spooled: episode.recordsSpooled,
    records_lost: episode.recordsLost,
    cause: episode.cause ?? episode.lastError,
    ticket: episode.ticket,
    alerts_held: [...episode.held].filter((key) => !episode.sent.has(key)).length,
    spool_failed_at: iso(episode.spoolFailedAt),
    records_replayed: episode.recordsReplayed,
    replay_finished_at: iso(episode.replayFinishedAt),
    records_quarantined: episode.recordsQuarantined,
  };
  return EVIDENCE_CSV_COLUMNS.map((column) => row[column]);
}

/** A cell of RFC 4180; text a spreadsheet would run as a formula is prefixed with `'`. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const raw = String(value);
  const safe = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function iso(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

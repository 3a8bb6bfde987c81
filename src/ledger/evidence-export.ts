import type { AuditAlertEventType } from '../audit-alert.constants.js';
import { describeReceived } from '../audit-alert.messages.js';
import { AUDIT_ALERT_EVENT_KINDS, episodeStepOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditEpisodeKind } from '../events/audit-episode.js';
import type { LedgerEventRecord, LedgerLine, LedgerReceiptRecord } from './ledger-entry.interface.js';

/*
 * The evidence an auditor is handed, made from the ledger's lines: a CSV of the
 * outage episodes (one row each, what PCI DSS 10.7.3.b asks of each failure),
 * or the lines themselves as JSON Lines (what shows that none is missing).
 * Pure: the lines come in, the text goes out.
 */

/** How {@link exportEvidence} writes the evidence. */
export type EvidenceFormat = 'csv' | 'jsonl';

/** Options of {@link exportEvidence}. */
export interface EvidenceExportOptions {
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

/** The kinds of episode that make a row: an outage, a capacity episode, a run of rejected records. */
type RowEpisode = Extract<AuditEpisodeKind, 'outage' | 'capacity' | 'rejected'>;
const ROW_EPISODES: readonly AuditEpisodeKind[] = ['outage', 'capacity', 'rejected'];

/** One episode, as the lines tell it. Times are epoch milliseconds. */
interface Episode {
  readonly outageId: string;
  readonly episode: RowEpisode;
  readonly monitor: string;
  service: string;
  reachedUnreachable: boolean;
  startedAt: number | null;
  /** The first and last line of the episode's own events: its span when the events give none. */
  firstSeenAt: number;
  lastSeenAt: number;
  firstAlertAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  /** Alert events sent, and held, by their key (type, occurrence): each counted once across replicas. */
  readonly sent: Set<string>;
  readonly held: Set<string>;
  /** The final result of each delivery, by recipient and event. */
  readonly deliveries: Map<string, { recipient: string; result: string }>;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  cause: string | null;
  ticket: string | null;
  lastError: string | null;
  writesFailed: number | null;
  recordsSpooled: number | null;
  recordsLost: number | null;
  spoolFailedAt: number | null;
  recordsReplayed: number | null;
  replayFinishedAt: number | null;
  recordsQuarantined: number | null;
}

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
      const end = episode.endedAt ?? (episode.episode === 'rejected' ? episode.lastSeenAt : Infinity);
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
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key))
      invalid(key, (options as unknown as Record<string, unknown>)[key], 'no such option');
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
    allowed === 'no such option'
      ? `exportEvidence(): unknown option "${field}"; the options are: ${OPTION_KEYS.join(', ')}.`
      : `exportEvidence(): invalid "${field}": received ${describeReceived(value)}; expected ${allowed}.`,
  );
}

function isLedgerLine(line: LedgerLine | null): line is LedgerLine {
  return line !== null && typeof line === 'object' && typeof line.kind === 'string' && typeof line.at === 'string';
}

/** Builds the episodes from their events, then adds what refers to them: receipts, acknowledgements, annotations, the spool. */
function collectEpisodes(lines: readonly LedgerLine[]): Episode[] {
  const episodes = new Map<string, Episode>();
  const spoolEvents: { event: LedgerEventRecord['event']; at: number }[] = [];
  for (const line of lines) {
    if (line.kind !== 'event') continue;
    const event = line.event as LedgerEventRecord['event'] | undefined;
    const at = timeOf(line.at);
    const outageId = text(event?.outageId);
    if (event === undefined || at === null || outageId === null) continue;
    const episode = episodeOf(event.type);
    if (episode === 'spool' || episode === 'replay' || episode === 'quarantine') spoolEvents.push({ event, at });
    if (episode === null || !ROW_EPISODES.includes(episode)) continue;
    const key = `${episode}:${outageId}`;
    let current = episodes.get(key);
    if (current === undefined) {
      current = newEpisode(outageId, episode as RowEpisode, text(event.monitor) ?? '', at);
      episodes.set(key, current);
    }
    addEvent(current, event, line.held === true, at, text(event.serviceName) ?? line.service);
  }
  const byId = new Map<string, Episode[]>();
  for (const episode of episodes.values()) byId.set(episode.outageId, [...(byId.get(episode.outageId) ?? []), episode]);
  for (const { event, at } of spoolEvents) {
    const outage = outageOfSpoolEvent([...episodes.values()], text(event.monitor), at);
    if (outage !== null) addSpoolEvent(outage, event, at);
  }
  for (const line of lines) {
    const at = timeOf(line.at);
    if (at === null) continue;
    if (line.kind === 'receipt') {
      for (const episode of byId.get(text(line.outageId) ?? '') ?? []) addReceipt(episode, line);
    } else if (line.kind === 'acknowledged') {
      for (const episode of byId.get(text(line.outageId) ?? '') ?? []) {
        if (episode.acknowledgedAt === null || at < episode.acknowledgedAt) {
          episode.acknowledgedBy = text(line.by);
          episode.acknowledgedAt = at;
        }
      }
    } else if (line.kind === 'annotated') {
      // The last annotation that gives a cause (or a ticket) is the one that stands.
      for (const episode of byId.get(text(line.outageId) ?? '') ?? []) {
        episode.cause = text(line.cause) ?? episode.cause;
        episode.ticket = text(line.ticket) ?? episode.ticket;
      }
    }
  }
  return [...episodes.values()];
}

/** The kind of episode of an event type, from the table of event kinds; `null` for a type it does not know. */
function episodeOf(type: unknown): AuditEpisodeKind | null {
  return typeof type === 'string' && Object.hasOwn(AUDIT_ALERT_EVENT_KINDS, type)
    ? AUDIT_ALERT_EVENT_KINDS[type as AuditAlertEventType].episode
    : null;
}

function newEpisode(outageId: string, episode: RowEpisode, monitor: string, at: number): Episode {
  return {
    outageId,
    episode,
    monitor,
    service: '',
    reachedUnreachable: false,
    startedAt: null,
    firstSeenAt: at,
    lastSeenAt: at,
    firstAlertAt: null,
    endedAt: null,
    durationMs: null,
    sent: new Set(),
    held: new Set(),
    deliveries: new Map(),
    acknowledgedBy: null,
    acknowledgedAt: null,
    cause: null,
    ticket: null,
    lastError: null,
    writesFailed: null,
    recordsSpooled: null,
    recordsLost: null,
    spoolFailedAt: null,
    recordsReplayed: null,
    replayFinishedAt: null,
    recordsQuarantined: null,
  };
}

function addEvent(
  episode: Episode,
  event: LedgerEventRecord['event'],
  held: boolean,
  at: number,
  service: string,
): void {
  episode.service ||= service;
  episode.firstSeenAt = Math.min(episode.firstSeenAt, at);
  episode.lastSeenAt = Math.max(episode.lastSeenAt, at);
  const capacityLevel = text(event.level);
  const start =
    timeOf(event.firstFailureAt) ??
    timeOf(event.outageStartedAt) ??
    timeOf(event.firstRejectedAt) ??
    (capacityLevel !== null && capacityLevel !== 'normal' ? timeOf(event.checkedAt) : null);
  if (start !== null) episode.startedAt = Math.min(episode.startedAt ?? start, start);
  episode.lastError = text(event.lastError) ?? episode.lastError;
  if (event.type === 'audit.storage.unreachable' || (numberOf(event.unreachableAlerts) ?? 0) > 0)
    episode.reachedUnreachable = true;
  // The table's step reads the type and a capacity event's level, which the ledger keeps as the event had them.
  const step = episodeStepOf(event as unknown as AuditAlertEvent);
  if (step === 'opens') {
    const key = `${event.type}:${numberOf(event.occurrence) ?? ''}`;
    if (held) {
      episode.held.add(key);
    } else {
      episode.sent.add(key);
      episode.firstAlertAt = Math.min(episode.firstAlertAt ?? at, at);
    }
  }
  if (episode.episode === 'rejected') {
    const rejected = numberOf(event.rejectedRecords);
    if (rejected !== null) {
      episode.writesFailed = Math.max(episode.writesFailed ?? 0, rejected);
      episode.recordsLost = Math.max(episode.recordsLost ?? 0, rejected);
    }
  }
  if (step !== 'closes') return;
  // A recovery ends an outage; a capacity event back at `normal` ends its episode.
  const recoveredAt = timeOf(event.recoveredAt);
  if (recoveredAt !== null) {
    episode.endedAt = recoveredAt;
    episode.durationMs = numberOf(event.outageDurationMs);
    episode.writesFailed = numberOf(event.writesFailed);
    episode.recordsSpooled = numberOf(event.recordsSpooled);
    episode.recordsLost = numberOf(event.recordsLost);
  } else {
    const checkedAt = timeOf(event.checkedAt);
    if (checkedAt !== null) episode.endedAt = checkedAt;
  }
}

/**
 * The outage a spool event belongs to: the last outage of its monitor that
 * began at or before it. The spool keeps records during an outage and drains
 * them after its recovery, so a replay belongs to the outage before it.
 */
function outageOfSpoolEvent(episodes: readonly Episode[], monitor: string | null, at: number): Episode | null {
  let found: Episode | null = null;
  for (const episode of episodes) {
    const start = episode.startedAt ?? episode.firstSeenAt;
    if (episode.episode !== 'outage' || episode.monitor !== monitor || start > at) continue;
    if (found === null || start > (found.startedAt ?? found.firstSeenAt)) found = episode;
  }
  return found;
}

function addSpoolEvent(episode: Episode, event: LedgerEventRecord['event'], at: number): void {
  const failedAt = timeOf(event.failedAt);
  if (failedAt !== null) episode.spoolFailedAt = Math.min(episode.spoolFailedAt ?? failedAt, failedAt);
  const replayed = numberOf(event.recordsReplayed);
  if (replayed !== null) {
    episode.recordsReplayed = (episode.recordsReplayed ?? 0) + replayed;
    const replayedAt = timeOf(event.replayedAt) ?? at;
    episode.replayFinishedAt = Math.max(episode.replayFinishedAt ?? replayedAt, replayedAt);
  }
  const quarantined = numberOf(event.recordsQuarantined);
  if (quarantined !== null) episode.recordsQuarantined = (episode.recordsQuarantined ?? 0) + quarantined;
}

function addReceipt(episode: Episode, receipt: LedgerReceiptRecord): void {
  const recipient = text(receipt.recipient);
  if (recipient === null) return;
  // A later receipt for the same recipient and event (another replica's, after a crash) is its final result.
  episode.deliveries.set(`${recipient}\n${receipt.type}\n${receipt.occurrence ?? ''}`, {
    recipient,
    result: String(receipt.result),
  });
}

function rowOf(episode: Episode): (string | number | null)[] {
  const deliveries = [...episode.deliveries.values()];
  const recipients = [...new Set(deliveries.filter((d) => d.result === 'delivered').map((d) => d.recipient))];
  const kind =
    episode.episode === 'outage' ? (episode.reachedUnreachable ? 'unreachable' : 'degraded') : episode.episode;
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

function timeOf(value: unknown): number | null {
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? null : time;
}

function iso(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

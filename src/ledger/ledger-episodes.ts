import type { AuditAlertEventType } from '../audit-alert.constants.js';
import { AUDIT_ALERT_EVENT_KINDS, episodeStepOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditEpisodeKind } from '../events/audit-episode.js';
import type { LedgerEventRecord, LedgerLine, LedgerReceiptRecord } from './ledger-entry.interface.js';

/*
 * The outage episodes the ledger's lines tell of: each built from the events
 * under one `outageId`, then given what refers to it (receipts,
 * acknowledgements, annotations) and the spool's events of its monitor.
 * What the evidence export makes a CSV row of.
 */

/** The kinds of episode that make a row: an outage, a capacity episode, a run of rejected records. */
export type RowEpisode = Extract<AuditEpisodeKind, 'outage' | 'capacity' | 'rejected'>;
const ROW_EPISODES: readonly AuditEpisodeKind[] = ['outage', 'capacity', 'rejected'];

/** One episode, as the lines tell it. Times are epoch milliseconds. */
export interface LedgerEpisode {
  readonly outageId: string;
  readonly episodeKind: RowEpisode;
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

/** Builds the episodes from their events, then adds what refers to them: receipts, acknowledgements, annotations, the spool. */
export function collectEpisodes(lines: readonly LedgerLine[]): LedgerEpisode[] {
  const episodes = new Map<string, LedgerEpisode>();
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
  const byId = new Map<string, LedgerEpisode[]>();
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
      // A line written before records carried their time has only its own.
      const acknowledgedAt = timeOf(line.acknowledgedAt) ?? at;
      for (const episode of byId.get(text(line.outageId) ?? '') ?? []) {
        if (episode.acknowledgedAt === null || acknowledgedAt < episode.acknowledgedAt) {
          episode.acknowledgedBy = text(line.by);
          episode.acknowledgedAt = acknowledgedAt;
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

function newEpisode(outageId: string, episode: RowEpisode, monitor: string, at: number): LedgerEpisode {
  return {
    outageId,
    episodeKind: episode,
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
  episode: LedgerEpisode,
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
  if (episode.episodeKind === 'rejected') {
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
function outageOfSpoolEvent(
  episodes: readonly LedgerEpisode[],
  monitor: string | null,
  at: number,
): LedgerEpisode | null {
  let found: LedgerEpisode | null = null;
  for (const episode of episodes) {
    const start = episode.startedAt ?? episode.firstSeenAt;
    if (episode.episodeKind !== 'outage' || episode.monitor !== monitor || start > at) continue;
    if (found === null || start > (found.startedAt ?? found.firstSeenAt)) found = episode;
  }
  return found;
}

function addSpoolEvent(episode: LedgerEpisode, event: LedgerEventRecord['event'], at: number): void {
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

function addReceipt(episode: LedgerEpisode, receipt: LedgerReceiptRecord): void {
  const recipient = text(receipt.recipient);
  if (recipient === null) return;
  // A later receipt for the same recipient and event (another replica's, after a crash) is its final result.
  episode.deliveries.set(`${recipient}\n${receipt.type}\n${receipt.occurrence ?? ''}`, {
    recipient,
    result: String(receipt.result),
  });
}

export function timeOf(value: unknown): number | null {
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? null : time;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

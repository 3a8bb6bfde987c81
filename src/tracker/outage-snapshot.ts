import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditStorageState } from './audit-storage-status.interface.js';
import { Outage } from './outage.js';
import { MAX_ACKNOWLEDGED_BY, MAX_ACKNOWLEDGEMENT_NOTE, type OutageAcknowledgement } from './outage-acknowledgement.js';

/**
 * The open outage of a monitor as the next process needs it: its times are
 * wall-clock milliseconds, as a monotonic clock starts over with the process.
 */
export interface OutageSnapshot {
  readonly outageId: string;
  /** A recovery hold is kept as `'alerting'`: the success that began it is not the next process's evidence. */
  readonly state: 'failing' | 'degraded' | 'alerting';
  readonly firstFailureAt: number;
  readonly lastFailureAt: number;
  /** Write failures of the outage (`writesFailed`; the key keeps its first name, so that older files load). */
  readonly eventsAffected: number;
  /** Records of its failed writes the spool kept; absent in files written before it was kept. */
  readonly recordsSpooled?: number;
  /** Records of its failed writes the spool could not keep; absent in files written before it was kept. */
  readonly recordsLost?: number;
  readonly probeFailures: number;
  /** Write failures since the last success. */
  readonly consecutiveFailures: number;
  /** When the failures with no success since began; `null` when a success came since. */
  readonly streakStartedAt: number | null;
  readonly unreachableOccurrence: number;
  readonly lastUnreachableAt: number | null;
  readonly degradedOccurrence: number;
  readonly lastDegradedAt: number | null;
  readonly lastAlertAt: number | null;
  readonly lastError: string | null;
  readonly lastProbeError: string | null;
  /** Who answered the outage, and when: it raises no repeat. Absent in files written before it was kept. */
  readonly acknowledged?: OutageAcknowledgement | null;
}

type Clock = Pick<AuditAlertClock, 'monotonicNow' | 'wallNow'>;

/** The snapshot of `outage`, open in `state`, with its monotonic times read as wall-clock ones. */
export function snapshotOutage(
  outage: Outage,
  state: Exclude<AuditStorageState, 'healthy'>,
  clock: Clock,
): OutageSnapshot {
  const mono = clock.monotonicNow();
  const wallNow = clock.wallNow();
  const wall = (at: number): number => Math.round(wallNow - (mono - at));
  return {
    outageId: outage.id,
    state: state === 'recovering' ? 'alerting' : state,
    firstFailureAt: Math.round(outage.firstFailureWall),
    lastFailureAt: wall(outage.lastFailureMono),
    eventsAffected: outage.failures,
    recordsSpooled: outage.recordsSpooled,
    recordsLost: outage.recordsLost,
    probeFailures: outage.probeFailures,
    consecutiveFailures: outage.consecutive,
    streakStartedAt: outage.streakOpen ? wall(outage.streakStartMono) : null,
    unreachableOccurrence: outage.unreachableOccurrence,
    lastUnreachableAt: outage.unreachableOccurrence > 0 ? wall(outage.lastUnreachableMono) : null,
    degradedOccurrence: outage.degradedOccurrence,
    lastDegradedAt: outage.degradedOccurrence > 0 ? wall(outage.lastDegradedMono) : null,
    lastAlertAt: outage.lastAlertWall === null ? null : Math.round(outage.lastAlertWall),
    lastError: outage.hasWriteError ? outage.textOf(outage.lastErrorValue) : null,
    // Not through the outage's kept text, which is the write error's.
    lastProbeError: outage.hasProbeError ? errorText(outage.lastProbeErrorValue) : null,
    acknowledged: outage.acknowledged,
  };
}

/** The outage `saved` describes, its wall-clock times read on this process's monotonic clock. */
export function restoreOutage(saved: OutageSnapshot, clock: Clock): Outage {
  const mono = clock.monotonicNow();
  const wallNow = clock.wallNow();
  // A time ahead of this clock (another host's, or a clock set back) counts as now.
  const monoOf = (at: number): number => mono - Math.max(0, wallNow - at);
  const outage = new Outage(saved.outageId, monoOf(saved.firstFailureAt), Math.min(saved.firstFailureAt, wallNow));
  outage.lastFailureMono = monoOf(saved.lastFailureAt);
  outage.failures = saved.eventsAffected;
  outage.recordsSpooled = saved.recordsSpooled ?? 0;
  outage.recordsLost = saved.recordsLost ?? 0;
  outage.probeFailures = saved.probeFailures;
  outage.consecutive = saved.consecutiveFailures;
  outage.streakOpen = saved.streakStartedAt !== null;
  outage.streakStartMono = saved.streakStartedAt === null ? 0 : monoOf(saved.streakStartedAt);
  outage.unreachableOccurrence = saved.unreachableOccurrence;
  outage.lastUnreachableMono = saved.lastUnreachableAt === null ? 0 : monoOf(saved.lastUnreachableAt);
  outage.degradedOccurrence = saved.degradedOccurrence;
  outage.lastDegradedMono = saved.lastDegradedAt === null ? 0 : monoOf(saved.lastDegradedAt);
  outage.lastAlertWall = saved.lastAlertAt;
  outage.hasWriteError = saved.lastError !== null;
  outage.lastErrorValue = saved.lastError;
  outage.hasProbeError = saved.lastProbeError !== null;
  outage.lastProbeErrorValue = saved.lastProbeError;
  outage.acknowledged = saved.acknowledged ?? null;
  return outage;
}

/** The longest error text a snapshot keeps: the events carry no more. */
const MAX_TEXT = 4_096;

const isTime = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isCount = isTime;
const isCountOrAbsent = (value: unknown): boolean => value === undefined || isCount(value);
const isTimeOrNull = (value: unknown): value is number | null => value === null || isTime(value);
const isTextOrNull = (value: unknown): value is string | null =>
  value === null || (typeof value === 'string' && value.length <= MAX_TEXT);
const isText = (value: unknown, max: number): boolean =>
  typeof value === 'string' && value.length > 0 && value.length <= max;
const isAcknowledgementOrAbsent = (value: unknown): boolean => {
  if (value === undefined || value === null) return true;
  if (typeof value !== 'object') return false;
  const { by, note, at } = value as Record<string, unknown>;
  return isText(by, MAX_ACKNOWLEDGED_BY) && (note === null || isText(note, MAX_ACKNOWLEDGEMENT_NOTE)) && isTime(at);
};

/**
 * Checks a saved outage read from outside the process (a file), field by
 * field, before {@link restoreOutage} may trust it.
 * @returns Why it is refused, or `null` when it is a valid {@link OutageSnapshot}.
 */
export function invalidOutageSnapshot(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const s = value as Record<string, unknown>;
  const checks: [string, boolean][] = [
    ['outageId', typeof s.outageId === 'string' && s.outageId.length > 0 && s.outageId.length <= 200],
    ['state', s.state === 'failing' || s.state === 'degraded' || s.state === 'alerting'],
    ['firstFailureAt', isTime(s.firstFailureAt)],
    ['lastFailureAt', isTime(s.lastFailureAt)],
    ['eventsAffected', isCount(s.eventsAffected)],
    ['recordsSpooled', isCountOrAbsent(s.recordsSpooled)],
    ['recordsLost', isCountOrAbsent(s.recordsLost)],
    ['probeFailures', isCount(s.probeFailures)],
    ['consecutiveFailures', isCount(s.consecutiveFailures)],
    ['streakStartedAt', isTimeOrNull(s.streakStartedAt)],
    ['unreachableOccurrence', isCount(s.unreachableOccurrence)],
    ['lastUnreachableAt', isTimeOrNull(s.lastUnreachableAt)],
    ['degradedOccurrence', isCount(s.degradedOccurrence)],
    ['lastDegradedAt', isTimeOrNull(s.lastDegradedAt)],
    ['lastAlertAt', isTimeOrNull(s.lastAlertAt)],
    ['lastError', isTextOrNull(s.lastError)],
    ['lastProbeError', isTextOrNull(s.lastProbeError)],
    ['acknowledged', isAcknowledgementOrAbsent(s.acknowledged)],
  ];
  const bad = checks.find(([, ok]) => !ok);
  return bad ? `field ${bad[0]} is invalid` : null;
}

import { AUDIT_ALERT_EVENT_KINDS, eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { HeldAlert, KeptSilence } from './silence-store.interface.js';

/*
 * Silences and held alerts as JSON, for the state file and for Redis: dates as
 * wall-clock milliseconds. What is read back comes from outside the process,
 * so it is checked field by field; what fails is skipped, never trusted.
 */

/** The date fields of the events (see `events/audit-alert-event.interface.ts`). */
const EVENT_DATES = [
  'firstFailureAt',
  'outageStartedAt',
  'recoveredAt',
  'checkedAt',
  'firstRejectedAt',
  'sentAt',
  'failedAt',
  'replayedAt',
  'quarantinedAt',
] as const;

const isTime = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** `silence` as JSON. */
export function encodeSilence(silence: KeptSilence): Record<string, unknown> {
  return { ...silence, startsAt: silence.startsAt.getTime(), endsAt: silence.endsAt.getTime() };
}

/** The silence `value` encodes; `null` when it is not one. */
export function decodeSilence(value: unknown): KeptSilence | null {
  if (typeof value !== 'object' || value === null) return null;
  const s = value as Record<string, unknown>;
  const monitors = s.monitors === null || (Array.isArray(s.monitors) && s.monitors.every(isText));
  if (!isText(s.id) || !monitors || !isTime(s.startsAt) || !isTime(s.endsAt) || !isText(s.reason)) return null;
  return {
    id: s.id,
    monitors: s.monitors as string[] | null,
    startsAt: new Date(s.startsAt),
    endsAt: new Date(s.endsAt),
    reason: s.reason,
    // Silences kept before createdBy was required have no author.
    createdBy: isText(s.createdBy) ? s.createdBy : 'unknown',
    held: isTime(s.held) ? s.held : 0,
  };
}

/** `held` as JSON. */
export function encodeHeld(held: HeldAlert): Record<string, unknown> {
  const event: Record<string, unknown> = { ...held.event };
  for (const field of EVENT_DATES) if (event[field] instanceof Date) event[field] = (event[field] as Date).getTime();
  // The episode, for Redis to tell an alert of the same outage from another.
  return { ...held, event, episode: eventKeyOf(held.event) };
}

/** The held alert `value` encodes; `null` when it is not one. */
export function decodeHeld(value: unknown): HeldAlert | null {
  if (typeof value !== 'object' || value === null) return null;
  const h = value as Record<string, unknown>;
  const raw = h.event as Record<string, unknown> | null;
  if (
    !isText(h.key) ||
    !isText(h.version) ||
    !isText(h.silenceId) ||
    !isTime(h.heldAt) ||
    !isTime(h.firstHeld) ||
    typeof h.alertedBefore !== 'boolean' ||
    typeof raw !== 'object' ||
    raw === null ||
    !Object.hasOwn(AUDIT_ALERT_EVENT_KINDS, String(raw.type)) ||
    !isText(raw.monitor)
  ) {
    return null;
  }
  const event: Record<string, unknown> = { ...raw };
  for (const field of EVENT_DATES) {
    if (field in event) {
      if (!isTime(event[field])) return null;
      event[field] = new Date(event[field]);
    }
  }
  return {
    key: h.key,
    version: h.version,
    silenceId: h.silenceId,
    event: event as unknown as AuditAlertEvent,
    heldAt: h.heldAt,
    firstHeld: h.firstHeld,
    alertedBefore: h.alertedBefore,
  };
}

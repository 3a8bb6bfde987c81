import { randomUUID } from 'node:crypto';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertSilence, AuditAlertSilenceOptions } from './audit-alert-silence.interface.js';

const PATH = 'silence(options)';

/** Longest reason kept, in characters: a ticket and a sentence, not a document. */
const MAX_SILENCE_REASON = 500;

/** Longest `createdBy` kept, in characters: a name, an e-mail address, a system's id. */
const MAX_SILENCE_AUTHOR = 200;

const KEYS = [
  'monitors',
  'startsAt',
  'durationMs',
  'until',
  'reason',
  'createdBy',
] as const satisfies readonly (keyof AuditAlertSilenceOptions)[];

/** Reads a time given as a `Date` or an ISO 8601 string; `NaN` when it is neither. */
function timeOf(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return Date.parse(value);
  return Number.NaN;
}

function readText(value: unknown, field: string, max: number, allowed: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    fail(`${PATH}.${field}`, value, `a non-empty string of at most ${max} characters ${allowed}`);
  }
  return value;
}

/**
 * Validates what `silence()` was given and makes the silence; a `startsAt`
 * before `now` begins it at `now`.
 * @throws AuditAlertConfigError naming the first invalid field, such as `silence(options).createdBy`.
 */
export function resolveSilence(
  raw: unknown,
  monitorNames: readonly string[],
  maxSilenceMs: number,
  now: number,
): AuditAlertSilence {
  const options = readObject(raw, PATH);
  rejectUnknownKeys(options, KEYS, `${PATH}.`);
  const { monitors, startsAt, durationMs, until } = options;
  const reason = readText(options.reason, 'reason', MAX_SILENCE_REASON, 'saying why');
  const createdBy = readText(options.createdBy, 'createdBy', MAX_SILENCE_AUTHOR, 'naming who sets the silence');
  if (
    monitors !== undefined &&
    (!Array.isArray(monitors) || monitors.length === 0 || !monitors.every((name) => monitorNames.includes(name)))
  ) {
    fail(`${PATH}.monitors`, monitors, `a non-empty array of monitor names: ${monitorNames.join(', ')}`);
  }
  let start = now;
  if (startsAt !== undefined) {
    const at = timeOf(startsAt);
    if (Number.isNaN(at)) fail(`${PATH}.startsAt`, startsAt, 'a Date or an ISO 8601 date-time string');
    start = Math.max(now, at);
  }
  if ((durationMs === undefined) === (until === undefined)) {
    fail(`${PATH}.durationMs`, durationMs, 'either durationMs or until, not both and not neither');
  }
  let endsAt: number;
  if (durationMs !== undefined) {
    if (
      typeof durationMs !== 'number' ||
      !Number.isFinite(durationMs) ||
      durationMs <= 0 ||
      durationMs > maxSilenceMs
    ) {
      fail(
        `${PATH}.durationMs`,
        durationMs,
        `a number of milliseconds above 0 and at most maxSilenceMs (${maxSilenceMs})`,
      );
    }
    endsAt = start + durationMs;
  } else {
    endsAt = timeOf(until);
    if (Number.isNaN(endsAt) || endsAt <= start || endsAt - start > maxSilenceMs) {
      fail(
        `${PATH}.until`,
        until,
        `a Date or an ISO 8601 date-time after startsAt (or now), at most maxSilenceMs (${maxSilenceMs} ms) after it`,
      );
    }
  }
  return {
    id: randomUUID(),
    monitors: monitors === undefined ? null : [...new Set(monitors as string[])],
    startsAt: new Date(start),
    endsAt: new Date(endsAt),
    reason,
    createdBy,
  };
}

import { randomUUID } from 'node:crypto';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertSilence, AuditAlertSilenceOptions } from './audit-alert-silence.interface.js';

const PATH = 'silence(options)';

/** Longest reason kept, in characters: a ticket and a sentence, not a document. */
export const MAX_SILENCE_REASON = 500;

/**
 * Validates what `silence()` was given and makes the silence, starting at `now`.
 * @throws AuditAlertConfigError naming the first invalid field, such as `silence(options).reason`.
 */
export function resolveSilence(
  raw: unknown,
  monitorNames: readonly string[],
  maxSilenceMs: number,
  now: number,
): AuditAlertSilence {
  const options = readObject(raw, PATH) as Partial<AuditAlertSilenceOptions> & Record<string, unknown>;
  rejectUnknownKeys(options, ['monitors', 'durationMs', 'until', 'reason'], `${PATH}.`);
  const { monitors, durationMs, until, reason } = options;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_SILENCE_REASON) {
    fail(`${PATH}.reason`, reason, `a non-empty string of at most ${MAX_SILENCE_REASON} characters saying why`);
  }
  if (
    monitors !== undefined &&
    (!Array.isArray(monitors) || monitors.length === 0 || !monitors.every((name) => monitorNames.includes(name)))
  ) {
    fail(`${PATH}.monitors`, monitors, `a non-empty array of monitor names: ${monitorNames.join(', ')}`);
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
    endsAt = now + durationMs;
  } else {
    const end = until instanceof Date ? until.getTime() : Number.NaN;
    if (Number.isNaN(end) || end <= now || end - now > maxSilenceMs) {
      fail(`${PATH}.until`, until, `a Date in the future, at most maxSilenceMs (${maxSilenceMs} ms) from now`);
    }
    endsAt = end;
  }
  return {
    id: randomUUID(),
    monitors: monitors === undefined ? null : [...new Set(monitors)],
    startsAt: new Date(now),
    endsAt: new Date(endsAt),
    reason,
  };
}

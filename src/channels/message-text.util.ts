/**
 * Cuts `text` to at most `max` characters (UTF-16 code units, as receivers
 * count them), ending with `…` when cut and never splitting a surrogate pair.
 * @param encode Applied to each character before it is counted, such as an escaper.
 */
export function truncate(text: string, max: number, encode: (char: string) => string = (char) => char): string {
  return truncateUnits(Array.from(text, encode), max);
}

/**
 * Joins `units` (characters, or escapes that must stay whole) into at most
 * `max` characters, ending with `…` when some are left out.
 */
export function truncateUnits(units: readonly string[], max: number): string {
  const whole = units.join('');
  if (whole.length <= max) return whole;
  let cut = '';
  for (const unit of units) {
    if (cut.length + unit.length > max - 1) break;
    cut += unit;
  }
  return `${cut}…`;
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Writes `&`, `<` and `>` as entities, for a receiver that reads them as
 * markup (Slack's mrkdwn, Google Chat's card text), and cuts the result to
 * `max` characters, an entity never split.
 */
export function escapeEntities(text: string, max: number): string {
  return truncate(text, max, (char) => ENTITIES[char] ?? char);
}

/** Whether a custom summary can be used: a string with something to show. */
export function isHeadline(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** `1 failed write`, `2 failed writes`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Which alert of its outage this is, for a person: `1st alert`, `2nd alert, still failing`… */
export function alertLabel(occurrence: number, still: 'failing' | 'degraded' = 'failing'): string {
  return occurrence === 1 ? '1st alert' : `${ordinal(occurrence)} alert, still ${still}`;
}

/** A share as a person reads it: `0.873` is `87.3 %`. */
export const percent = (ratio: number): string => `${Math.round(ratio * 1_000) / 10} %`;

/** How full a capacity event's storage is: `13 of 16` when the check gave both figures, otherwise its share. */
export function capacityUsed(event: {
  readonly used: number | null;
  readonly total: number | null;
  readonly usedRatio: number;
}): string {
  return event.used !== null && event.total !== null ? `${event.used} of ${event.total}` : percent(event.usedRatio);
}

/**
 * What a recovery says of the spool, after its failed writes, when the
 * monitor has one: `; 57 records spooled; 0 lost`. Without a spool, nothing:
 * a failed write is not a lost record, and nobody knows what became of it.
 * @param strong Sets off each figure (bold in Slack or Teams).
 */
export function spoolFigures(
  event: { readonly recordsSpooled: number | null; readonly recordsLost: number | null },
  strong: (text: string) => string = (text) => text,
): string {
  if (event.recordsSpooled === null) return '';
  return `; ${strong(plural(event.recordsSpooled, 'record'))} spooled; ${strong(String(event.recordsLost ?? 0))} lost`;
}

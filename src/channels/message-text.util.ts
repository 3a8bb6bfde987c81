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

/** What a recovery says of the spool, when the monitor has one: ` 57 records kept in the spool for replay, 0 lost.` */
export function spoolSummary(event: { readonly eventsSpooled?: number; readonly eventsLost?: number }): string {
  if (event.eventsSpooled === undefined) return '';
  return ` ${plural(event.eventsSpooled, 'record')} kept in the spool for replay, ${event.eventsLost ?? 0} lost.`;
}

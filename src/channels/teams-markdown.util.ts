import { truncateUnits } from './message-text.util.js';

/**
 * Escapes, with a backslash, what Teams' markdown gives a meaning of its own:
 * emphasis, code, links and mentions anywhere; headings, lists and quotes at
 * the start of a line. Breaks every run of braces so that it holds no `{{`:
 * no text of the event is read as a `{{DATE()}}` function. Then keeps the
 * result within `max` characters, an escape never being split from its character.
 */
export function escapeTeams(text: string, max: number): string {
  const escaped = text
    // After every brace that another follows: `{{{` has two pairs, and breaking only the first leaves `{{`.
    .replace(/\{(?=\{)/g, '{\u200b')
    .replace(/[\\*_~`[\]<>]/g, '\\$&')
    .replace(/^([ \t]*)([#+-])/gm, '$1\\$2')
    .replace(/^([ \t]*)(\d+)\./gm, '$1$2\\.');
  return truncateUnits(escaped.match(/\\[\s\S]|[\s\S]/gu) ?? [], max);
}

/** A time shown in each reader's own time zone; Teams reads the ISO form without milliseconds. */
export function teamsDate(date: Date): string {
  const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{DATE(${iso}, SHORT)}} {{TIME(${iso})}}`;
}

/** Thrown by the setters of a date carried by an event. */
const READ_ONLY = 'The dates of an audit alert event are read-only; copy one with new Date(date) to change it.';

/**
 * A `Date` whose setters throw: `Object.freeze` does not protect a date, whose
 * time lives in an internal slot that `setTime()` and the like still change.
 */
class ReadOnlyDate extends Date {}

for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (!name.startsWith('set')) continue;
  Object.defineProperty(ReadOnlyDate.prototype, name, {
    value: function readOnly(): never {
      throw new TypeError(READ_ONLY);
    },
  });
}
Object.freeze(ReadOnlyDate.prototype);

function frozenValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Object.freeze(new ReadOnlyDate(value.getTime()));
  if (Array.isArray(value)) return Object.freeze(value.map(frozenValue));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = frozenValue((value as Record<string, unknown>)[key]);
  return Object.freeze(copy);
}

/**
 * A deep copy of `event` that nobody can alter: every object frozen, every date
 * read-only. Each recipient gets one of its own, so that neither a hook that
 * rewrites its event nor one that calls `Date.prototype.setTime` on it can change
 * what a channel or another hook receives.
 */
export function frozenEvent<T extends object>(event: T): T {
  return frozenValue(event) as T;
}

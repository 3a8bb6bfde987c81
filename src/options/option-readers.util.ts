import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { invalidOption, unknownOption } from '../audit-alert.messages.js';

/*
 * The primitives every option resolver reads its input with: each checks one
 * field, fills in its default, and throws an AuditAlertConfigError naming the
 * option, the value received and what is allowed.
 */

/** Node's timers fire at once, with a warning, past this delay. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const TIMER_RANGE = `a finite number of milliseconds from 0 to ${MAX_TIMER_MS}`;

/** Throws the error that rejects `value` at `path`. */
export function fail(path: string, value: unknown, allowed: string): never {
  throw new AuditAlertConfigError(invalidOption(path, value, allowed), path);
}

/** Reads an optional field of `source`; `undefined` means "use the default". */
export function readBoolean(source: Record<string, unknown>, key: string, fallback: boolean, path = key): boolean {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(path, value, 'true or false');
  return value;
}

/** Reads an optional duration in milliseconds, bounded by what a Node timer can wait. */
export function readDuration(
  source: Record<string, unknown>,
  key: string,
  fallback: number,
  {
    min = 0,
    path = key,
    allowed = min > 0 ? TIMER_RANGE.replace('from 0', `from ${min}`) : TIMER_RANGE,
  }: { min?: number; path?: string; allowed?: string } = {},
): number {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    fail(path, value, allowed);
  }
  return value;
}

/** Reads an optional non-blank string. */
export function readString(source: Record<string, unknown>, key: string, fallback: string, path = key): string {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') fail(path, value, 'a non-empty string');
  return value;
}

/**
 * Keys that name an object's prototype machinery rather than an option: never
 * accepted, even where a resolver would let unknown keys through.
 */
export const UNSAFE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * The own enumerable properties of `value`, on an object with no prototype: an
 * option read from it is never inherited, so neither `Object.prototype` (polluted
 * or not) nor a `__proto__` key turned into a prototype by a copy can supply one.
 */
export function ownProperties(value: object): Record<string, unknown> {
  const own = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) own[key] = (value as Record<string, unknown>)[key];
  return own;
}

/** Asserts that `value` is a plain object and returns a snapshot of its own properties (see {@link ownProperties}). */
export function readObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, value, 'an object');
  return ownProperties(value);
}

/**
 * Reads every index of an array, holes included (as `undefined`, which the item
 * reader rejects with a clear error where `map` would skip it silently).
 */
export function readItems<T>(array: readonly unknown[], readItem: (item: unknown, index: number) => T): T[] {
  return Array.from({ length: array.length }, (_, index) => readItem(array[index], index));
}

/** Rejects keys of `source` that are not in `known`, and the {@link UNSAFE_KEYS} always. */
export function rejectUnknownKeys(source: Record<string, unknown>, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(source)) {
    if (!known.includes(key) || UNSAFE_KEYS.includes(key)) {
      throw new AuditAlertConfigError(unknownOption(prefix + key, known), prefix + key);
    }
  }
}

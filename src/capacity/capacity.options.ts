import { fail, readDuration, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditStorageCapacityOptions } from './capacity-options.interface.js';

/** The capacity watch of one monitor, with its defaults filled in. */
export interface ResolvedCapacityOptions {
  readonly check: AuditStorageCapacityOptions['check'];
  readonly warnAt: number;
  /** `null`: one level only. */
  readonly criticalAt: number | null;
  readonly hysteresis: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

const KEYS = [
  'check',
  'warnAt',
  'criticalAt',
  'hysteresis',
  'intervalMs',
  'timeoutMs',
] as const satisfies readonly (keyof AuditStorageCapacityOptions)[];

function readShare(
  source: Record<string, unknown>,
  key: string,
  fallback: number,
  path: string,
  { above = 0, max = 1, orEqual = false }: { above?: number; max?: number; orEqual?: boolean } = {},
): number {
  const value = source[key];
  if (value === undefined) return fallback;
  const inRange =
    typeof value === 'number' && Number.isFinite(value) && (orEqual ? value >= above : value > above) && value <= max;
  if (!inRange)
    fail(path, value, `a number ${orEqual ? 'from' : 'above'} ${above} ${orEqual ? 'to' : 'and at most'} ${max}`);
  return value as number;
}

/**
 * Validates the `capacity` setting of a monitor, or returns the inherited one when it sets none.
 * @throws AuditAlertConfigError naming the first invalid field.
 */
export function resolveCapacity(
  raw: unknown,
  inherited: ResolvedCapacityOptions | null,
  path: string,
): ResolvedCapacityOptions | null {
  if (raw === undefined) return inherited;
  const source = readObject(raw, path);
  rejectUnknownKeys(source, KEYS, `${path}.`);
  if (typeof source.check !== 'function') {
    fail(`${path}.check`, source.check, 'a function returning { used, total } or a ratio from 0 to 1');
  }
  const warnAt = readShare(source, 'warnAt', 0.75, `${path}.warnAt`);
  const criticalAt =
    source.criticalAt === undefined
      ? null
      : readShare(source, 'criticalAt', 1, `${path}.criticalAt`, { above: warnAt });
  const hysteresis = readShare(source, 'hysteresis', Math.min(0.05, warnAt), `${path}.hysteresis`, {
    max: warnAt,
    orEqual: true,
  });
  return {
    check: source.check as AuditStorageCapacityOptions['check'],
    warnAt,
    criticalAt,
    hysteresis,
    intervalMs: readDuration(source, 'intervalMs', 300_000, { min: 1, path: `${path}.intervalMs` }),
    timeoutMs: readDuration(source, 'timeoutMs', 10_000, { min: 1, path: `${path}.timeoutMs` }),
  };
}

import { AuditAlertConfigError } from './audit-alert-config.error.js';
import { invalidOption, unknownOption } from './audit-alert.messages.js';
import type { AuditAlertModuleOptions } from './interfaces/audit-alert-module-options.interface.js';

/** The options with every default filled in, as the module runs with them. */
export interface ResolvedAuditAlertOptions {
  readonly serviceName: string;
  readonly enabled: boolean;
  readonly thresholdMs: number;
  readonly cooldownMs: number;
  readonly notifyRecovery: boolean;
  readonly hookTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
}

/** Node's timers fire at once, with a warning, past this delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const KNOWN_OPTIONS = [
  'serviceName',
  'enabled',
  'thresholdMs',
  'cooldownMs',
  'notifyRecovery',
  'hookTimeoutMs',
  'shutdownTimeoutMs',
] as const satisfies readonly (keyof AuditAlertModuleOptions)[];

const TIMER_RANGE = `a finite number of milliseconds from 0 to ${MAX_TIMER_MS}`;

function fail(path: string, value: unknown, allowed: string): never {
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
  { min = 0, path = key }: { min?: number; path?: string } = {},
): number {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    fail(path, value, min > 0 ? TIMER_RANGE.replace('from 0', `from ${min}`) : TIMER_RANGE);
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

/** Asserts that `value` is a plain object and returns it as a record. */
export function readObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, value, 'an object');
  return value as Record<string, unknown>;
}

/** Rejects keys of `source` that are not in `known`. */
export function rejectUnknownKeys(source: Record<string, unknown>, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(source)) {
    if (!known.includes(key)) {
      throw new AuditAlertConfigError(unknownOption(prefix + key, known), prefix + key);
    }
  }
}

function defaultServiceName(): string {
  const fromEnv = process.env.OTEL_SERVICE_NAME;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : 'unknown_service:node';
}

/**
 * Validates the options given to the module and fills in the defaults.
 * @throws AuditAlertConfigError naming the first invalid option.
 */
export function resolveAuditAlertOptions(raw: unknown): ResolvedAuditAlertOptions {
  const options = readObject(raw ?? {}, 'options');
  rejectUnknownKeys(options, KNOWN_OPTIONS);
  return {
    serviceName: readString(options, 'serviceName', defaultServiceName()),
    enabled: readBoolean(options, 'enabled', true),
    thresholdMs: readDuration(options, 'thresholdMs', 30_000),
    cooldownMs: readDuration(options, 'cooldownMs', 300_000),
    notifyRecovery: readBoolean(options, 'notifyRecovery', true),
    hookTimeoutMs: readDuration(options, 'hookTimeoutMs', 10_000, { min: 1 }),
    shutdownTimeoutMs: readDuration(options, 'shutdownTimeoutMs', 5_000),
  };
}

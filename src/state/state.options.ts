import { isAbsolute } from 'node:path';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertStateOptions } from './state-options.interface.js';

/** The `state` option, validated. */
export interface ResolvedStateOptions {
  readonly file: string;
}

const STATE_KEYS = ['file'] as const satisfies readonly (keyof AuditAlertStateOptions)[];

/**
 * Validates the `state` option; `null` when it is absent.
 * @throws AuditAlertConfigError naming the first invalid field, or `state` set beside `cluster`.
 */
export function resolveStateOptions(raw: unknown, cluster: boolean): ResolvedStateOptions | null {
  if (raw === undefined) return null;
  const path = 'state';
  const state = readObject(raw, path);
  rejectUnknownKeys(state, STATE_KEYS, `${path}.`);
  if (cluster) fail(path, raw, 'undefined when cluster is set: Redis keeps the open outages of a cluster');
  const file = state.file;
  if (typeof file !== 'string' || !isAbsolute(file) || file.includes('\u0000')) {
    fail(`${path}.file`, file, 'an absolute file path');
  }
  return { file };
}

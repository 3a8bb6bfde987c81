import { isAbsolute } from 'node:path';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import { assertReplaceableFile } from '../options/path-checks.util.js';
import type { AuditAlertStateOptions } from './state-options.interface.js';

/** The `state` option, validated. */
export interface ResolvedStateOptions {
  readonly file: string;
}

const STATE_KEYS = ['file'] as const satisfies readonly (keyof AuditAlertStateOptions)[];

/** What `state.file` must be on the machine, once it is an absolute path. */
const STATE_FILE_ALLOWED =
  'an absolute path of a regular file, or of none yet, in an existing directory the process can write to';

/**
 * Validates the `state` option; `null` when it is absent. Checks the file
 * system too: the file's directory must exist and be writable, and the path,
 * if taken, must be a regular file (see {@link assertReplaceableFile}).
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
  assertReplaceableFile(`${path}.file`, file, STATE_FILE_ALLOWED);
  return { file };
}

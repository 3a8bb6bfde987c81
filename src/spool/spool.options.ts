import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditSpoolOptions } from './spool-options.interface.js';

/** The spool of one monitor, with its defaults filled in. */
export interface ResolvedSpoolOptions {
  readonly directory: string;
  readonly replay: AuditSpoolOptions['replay'];
  readonly replayPerSecond: number;
  readonly segmentBytes: number;
  readonly maxBytes: number;
}

const KEYS = [
  'directory',
  'replay',
  'replayPerSecond',
  'segmentBytes',
  'maxBytes',
] as const satisfies readonly (keyof AuditSpoolOptions)[];

const MIB = 2 ** 20;

function readCount(source: Record<string, unknown>, key: string, fallback: number, path: string, min: number): number {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(path, value, `a whole number from ${min}`);
  }
  return value;
}

/**
 * Validates the `spool` setting of a monitor, or returns the inherited one when it sets none.
 * @throws AuditAlertConfigError naming the first invalid field.
 */
export function resolveSpool(
  raw: unknown,
  inherited: ResolvedSpoolOptions | null,
  path: string,
): ResolvedSpoolOptions | null {
  if (raw === undefined) return inherited;
  const source = readObject(raw, path);
  rejectUnknownKeys(source, KEYS, `${path}.`);
  if (typeof source.directory !== 'string' || source.directory.trim() === '') {
    fail(`${path}.directory`, source.directory, 'the path of a directory');
  }
  if (typeof source.replay !== 'function') fail(`${path}.replay`, source.replay, 'a function writing one record');
  const segmentBytes = readCount(source, 'segmentBytes', 8 * MIB, `${path}.segmentBytes`, 4_096);
  return {
    directory: source.directory,
    replay: source.replay as AuditSpoolOptions['replay'],
    replayPerSecond: readCount(source, 'replayPerSecond', 100, `${path}.replayPerSecond`, 1),
    segmentBytes,
    maxBytes: readCount(source, 'maxBytes', 256 * MIB, `${path}.maxBytes`, segmentBytes),
  };
}

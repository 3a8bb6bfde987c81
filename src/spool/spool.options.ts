import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import { assertUsableDirectory } from '../options/path-checks.util.js';
import type { AuditSpoolOptions } from './spool-options.interface.js';

/** The spool of one monitor, with its defaults filled in. */
export interface ResolvedSpoolOptions {
  readonly directory: string;
  readonly replay: AuditSpoolOptions['replay'];
  readonly replayPerSecond: number;
  readonly segmentBytes: number;
  readonly maxBytes: number;
  /** The key of the keyed chain, or `null` for plain SHA-256. */
  readonly hmacKey: Buffer | null;
}

const KEYS = [
  'directory',
  'replay',
  'replayPerSecond',
  'segmentBytes',
  'maxBytes',
  'hmacKey',
] as const satisfies readonly (keyof AuditSpoolOptions)[];

const MIB = 2 ** 20;

/**
 * What `spool.directory` must be on the machine. A missing directory is refused
 * rather than created: the path of a volume that is not mounted would otherwise
 * put the alternate audit log on the container's own disk, lost with it.
 */
const SPOOL_DIRECTORY_ALLOWED =
  'an existing directory the process can list and write to (each monitor spools in a subdirectory of it, created 0700)';

function readCount(source: Record<string, unknown>, key: string, fallback: number, path: string, min: number): number {
  const value = source[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(path, value, `a whole number from ${min}`);
  }
  return value;
}

/**
 * Validates the `spool` setting of a monitor, or returns the inherited one when
 * it sets none. Once its fields are valid, checks that `directory` exists and
 * the process can list and write to it.
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
  if (typeof source.directory !== 'string' || source.directory.trim() === '' || source.directory.includes('\u0000')) {
    fail(`${path}.directory`, source.directory, 'the path of a directory');
  }
  if (typeof source.replay !== 'function') fail(`${path}.replay`, source.replay, 'a function writing one record');
  const segmentBytes = readCount(source, 'segmentBytes', 8 * MIB, `${path}.segmentBytes`, 4_096);
  const hmacKey = source.hmacKey;
  if (hmacKey !== undefined && !(typeof hmacKey === 'string' || Buffer.isBuffer(hmacKey))) {
    fail(`${path}.hmacKey`, '(not shown)', 'a string or a Buffer of at least 32 bytes');
  }
  if (hmacKey !== undefined && Buffer.byteLength(hmacKey as string | Buffer) < 32) {
    fail(`${path}.hmacKey`, '(a key shorter than 32 bytes, not shown)', 'a string or a Buffer of at least 32 bytes');
  }
  const resolved: ResolvedSpoolOptions = {
    directory: source.directory,
    replay: source.replay as AuditSpoolOptions['replay'],
    replayPerSecond: readCount(source, 'replayPerSecond', 100, `${path}.replayPerSecond`, 1),
    segmentBytes,
    maxBytes: readCount(source, 'maxBytes', 256 * MIB, `${path}.maxBytes`, segmentBytes),
    hmacKey: hmacKey === undefined ? null : Buffer.from(hmacKey as string | Buffer),
  };
  assertUsableDirectory(`${path}.directory`, resolved.directory, SPOOL_DIRECTORY_ALLOWED);
  return resolved;
}

import { spawn } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { invalidOption, unusablePathOption } from '../audit-alert.messages.js';
import type { AuditStorageCapacityCheckContext } from './capacity-options.interface.js';

/**
 * Runs one SQL statement with positional parameters (`$1`) and resolves to its
 * rows, or to a result holding them as `rows`: a `pg` `Pool` or `Client`
 * `query` bound to it fits as it is, so does most any PostgreSQL client.
 */
export type PostgresQuery = (
  sql: string,
  params: readonly unknown[],
) => Promise<{ readonly rows: readonly Record<string, unknown>[] } | readonly Record<string, unknown>[]>;

/** Run by a child Node process: prints the `statfs()` figures of its argument as JSON. */
const STATFS_SCRIPT =
  "const s = require('node:fs').statfsSync(process.argv[1]);" +
  'process.stdout.write(JSON.stringify([s.blocks, s.bfree, s.bavail, s.bsize]));';

/**
 * `statfs()` of `path` in a child Node process, killed when `signal` aborts:
 * a file system that never answers (a dead NFS or FUSE mount) hangs the call
 * in the child, and never one of the threads of this process's libuv pool,
 * which its own file, DNS and crypto work (alert delivery included) needs.
 */
function statfsInChild(path: string, signal?: AbortSignal): Promise<[number, number, number, number]> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('abandoned'));
      return;
    }
    const env = { ...process.env };
    // The application's loaders and flags are not the child's business.
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['-e', STATFS_SCRIPT, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      windowsHide: true,
    });
    let out = '';
    let err = '';
    const kill = (): void => void child.kill('SIGKILL');
    signal?.addEventListener('abort', kill, { once: true });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-2_000)));
    child.on('error', (error) => {
      signal?.removeEventListener('abort', kill);
      reject(error);
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', kill);
      if (code === 0) {
        try {
          resolve(JSON.parse(out) as [number, number, number, number]);
          return;
        } catch {
          // Falls through to the error below.
        }
      }
      const why = killedBy !== null ? `killed by ${killedBy}` : (/Error: [^\n]*/.exec(err)?.[0] ?? `exit code ${code}`);
      reject(new Error(`statfs of the watched path failed in its child process (${why})`));
    });
  });
}

/**
 * A capacity check of the filesystem holding `path`, as `df` counts it: the
 * blocks in use against those in use plus those still available to an
 * unprivileged process (the root reserve is not counted as free). `path` must
 * exist when the check is made: it is read once then.
 *
 * Each check runs `statfs()` in a child Node process, killed when the check
 * is abandoned (`timeoutMs`): a mount that stops answering cannot take the
 * threads of this process's libuv pool, which alert delivery needs too.
 *
 * ```ts
 * capacity: { check: filesystemCapacityCheck('/var/lib/postgresql') }
 * ```
 */
export function filesystemCapacityCheck(
  path: string,
): (context?: AuditStorageCapacityCheckContext) => Promise<{ used: number; total: number }> {
  if (typeof path !== 'string' || path === '') {
    throw new AuditAlertConfigError(invalidOption('filesystemCapacityCheck(path)', path, 'a non-empty path'), 'path');
  }
  // Checked now, once, as the checks will run: a path that does not exist would fail every check, unseen until an outage.
  try {
    statfsSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AuditAlertConfigError(
      unusablePathOption(
        'filesystemCapacityCheck(path)',
        path,
        `the file system cannot be read there (${code})`,
        'an existing path on the file system to watch',
      ),
      'path',
    );
  }
  return async (context) => {
    const [blocks, bfree, bavail, bsize] = await statfsInChild(path, context?.signal);
    const used = (blocks - bfree) * bsize;
    return { used, total: used + bavail * bsize };
  };
}

/**
 * A capacity check of a PostgreSQL database against a quota of your own, in
 * bytes: `pg_database_size()` through the `query` function you pass, so the
 * module needs no database client of its own.
 *
 * ```ts
 * capacity: {
 *   check: postgresCapacityCheck({ query: (sql, params) => pool.query(sql, [...params]), quotaBytes: 50 * 2 ** 30 }),
 * }
 * ```
 * @param options.database The database to measure. @default the one `query` is connected to
 */
export function postgresCapacityCheck(options: {
  query: PostgresQuery;
  quotaBytes: number;
  database?: string;
}): () => Promise<{ used: number; total: number }> {
  const { query, quotaBytes, database } = options ?? {};
  if (typeof query !== 'function') {
    throw new AuditAlertConfigError(invalidOption('postgresCapacityCheck.query', query, 'a function'), 'query');
  }
  if (typeof quotaBytes !== 'number' || !Number.isFinite(quotaBytes) || quotaBytes <= 0) {
    throw new AuditAlertConfigError(
      invalidOption('postgresCapacityCheck.quotaBytes', quotaBytes, 'a finite number of bytes above 0'),
      'quotaBytes',
    );
  }
  const [sql, params] =
    database === undefined
      ? ['SELECT pg_database_size(current_database()) AS bytes', []]
      : ['SELECT pg_database_size($1) AS bytes', [database]];
  return async () => {
    const result = await query(sql, params);
    const rows = Array.isArray(result) ? result : (result as { rows: readonly Record<string, unknown>[] }).rows;
    // bigint comes back as a string from most clients.
    return { used: Number(rows[0]?.bytes), total: quotaBytes };
  };
}

import { type AuditWriteProbeOptions, readWriteProbeOptions } from '../probes/write-probe.options.js';

/** The part of a `pg` `Pool` the probe uses, so that this module needs no import of `pg`. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
}

/** The part of a `pg` `PoolClient` the probe uses. */
export interface PgPoolClientLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
  /** With an error, the pool discards the connection instead of reusing it. */
  release(error?: Error | boolean): void;
}

/**
 * A `probe.check` for a `pg` `Pool`. Without options it runs `SELECT 1`: the
 * server answers. With `{ table, row? }` it exercises a real audit write: on a
 * connection of its own it opens a transaction, inserts `row` into `table` and
 * rolls back, so it fails as an audit write would (read-only, permission
 * revoked, table gone, disk full) and never leaves a row.
 *
 * ```ts
 * AuditAlertModule.forRoot({ probe: { check: pgPoolProbe(pool, { table: 'audit_log', row: { actor: 'probe' } }) } })
 * ```
 * @throws AuditAlertConfigError at once when `options` is invalid.
 */
export function pgPoolProbe(pool: PgPoolLike, options?: AuditWriteProbeOptions): () => Promise<void> {
  const write = options === undefined ? null : readWriteProbeOptions(options, 'pgPoolProbe(options)');
  const columns = write ? Object.keys(write.row) : [];
  const insert =
    write &&
    (columns.length === 0
      ? `INSERT INTO ${quoteTable(write.table)} DEFAULT VALUES`
      : `INSERT INTO ${quoteTable(write.table)} (${columns.map(quoteIdentifier).join(', ')}) ` +
        `VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`);
  const values = write ? Object.values(write.row) : [];
  return async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      if (insert === null) {
        await client.query('SELECT 1');
        return;
      }
      await client.query('BEGIN');
      try {
        await client.query(insert, values);
      } catch (error) {
        // The insert's error says why the storage failed; a failed rollback on a broken connection would hide it.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      await client.query('ROLLBACK');
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/** `schema.table` or `table`, each part quoted as a PostgreSQL identifier. */
function quoteTable(table: string): string {
  return table.split('.').map(quoteIdentifier).join('.');
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

import { type AuditWriteProbeOptions, readWriteProbeOptions } from '../probes/write-probe.options.js';

/**
 * The part of a TypeORM `DataSource` the probe uses, so that this module needs
 * no import of `typeorm` (any 0.3 or 1.x `DataSource` fits).
 */
export interface TypeOrmDataSourceLike {
  createQueryRunner(): TypeOrmQueryRunnerLike;
}

/** The part of a TypeORM `QueryRunner` the probe uses. */
export interface TypeOrmQueryRunnerLike {
  connect(): Promise<unknown>;
  startTransaction(): Promise<void>;
  rollbackTransaction(): Promise<void>;
  release(): Promise<void>;
  readonly manager: {
    createQueryBuilder(): {
      insert(): { into(table: string): { values(row: object): { execute(): Promise<unknown> } } };
    };
  };
}

/**
 * A `probe.check` that exercises a real audit write through TypeORM: on a
 * connection of its own, it opens a transaction, inserts `row` into `table`
 * and rolls the transaction back. It fails as an audit write would (storage
 * down, read-only, permission revoked, table gone) and never leaves a row.
 *
 * ```ts
 * AuditAlertModule.forRootAsync({
 *   inject: [DataSource],
 *   useFactory: (dataSource: DataSource) => ({
 *     probe: { check: typeOrmWriteProbe(dataSource, { table: 'audit_log', row: { actor: 'probe', action: 'probe' } }) },
 *   }),
 * })
 * ```
 * @throws AuditAlertConfigError at once when `options` is invalid.
 */
export function typeOrmWriteProbe(
  dataSource: TypeOrmDataSourceLike,
  options: AuditWriteProbeOptions,
): () => Promise<void> {
  const { table, row } = readWriteProbeOptions(options, 'typeOrmWriteProbe(options)');
  return async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      try {
        await runner.manager.createQueryBuilder().insert().into(table).values(row).execute();
      } catch (error) {
        // The insert's error says why the storage failed; a failed rollback on a broken connection would hide it.
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
  };
}

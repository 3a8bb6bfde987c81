import type { AuditErrorClass, AuditErrorClassifier } from './error-class.util.js';

/** `value[key]`, or `undefined` where `value` is no object or reading the key throws (a hostile getter, a revoked proxy). */
export function readProperty(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * `error` and the errors it wraps, outermost first, at most three: TypeORM's
 * QueryFailedError keeps the driver's error as `driverError`, the others as `cause`.
 */
export function* wrappedErrors(error: unknown): Generator<object, void, undefined> {
  let current = error;
  for (let depth = 0; depth < 3 && current !== null && typeof current === 'object'; depth += 1) {
    yield current;
    current = readProperty(current, 'driverError') ?? readProperty(current, 'cause');
  }
}

/** The first `key` found on `error` or on the errors it wraps, read without ever throwing. */
function codeOf(error: unknown, key: string): unknown {
  for (const wrapped of wrappedErrors(error)) {
    const value = readProperty(wrapped, key);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** PostgreSQL SQLSTATE classes (first two characters) whose errors are the record's, not the storage's. */
const POSTGRES_RECORD_CLASSES = new Set([
  '22', // data exception: a value out of range, too long, malformed
  '23', // integrity constraint violation: NOT NULL, unique, foreign key, check
  '42', // syntax error or access rule violation: a column or table the record names (not 42501, a permission)
  '44', // WITH CHECK OPTION violation
]);

/**
 * SQLSTATEs of the record classes that refuse every record alike, whatever it
 * holds: the storage's, not the record's. A revoked grant or a read-only
 * database is an outage of the audit trail, never a run of bad records.
 */
const POSTGRES_STORAGE_CODES = new Set([
  '42501', // insufficient_privilege: a revoked INSERT grant, a policy of row-level security
  '25006', // read_only_sql_transaction: a standby, default_transaction_read_only (class 25 is the storage's anyway)
]);

/**
 * What a PostgreSQL SQLSTATE says of a failed write: classes 22, 23, 42 and 44
 * are the record's, except a missing permission (42501); any other class, and
 * a missing or malformed code, the storage's.
 */
function sqlstateClass(code: unknown): AuditErrorClass {
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'storage';
  if (POSTGRES_STORAGE_CODES.has(code)) return 'storage';
  return POSTGRES_RECORD_CLASSES.has(code.slice(0, 2)) ? 'record' : 'storage';
}

/**
 * Classifies the errors of PostgreSQL drivers (`pg`, and what wraps it:
 * TypeORM, Knex, Prisma…) by their SQLSTATE `code`:
 * classes 22, 23, 42 and 44 (data, constraints, a column or table) are the
 * record's, except 42501 (a missing permission: a revoked grant refuses every
 * record alike); everything else, 42501 and 25006 (read-only) included, and an error without a SQLSTATE (a refused
 * connection, a timeout), is the storage's: 08 connection, 53 insufficient
 * resources (disk full), 57 operator intervention (shutdown), 58 system error,
 * 25 read-only transaction, 40 serialization and deadlock, XX internal.
 * A Prisma Client error is classified as {@link prismaErrorClassifier} does:
 * its `code` is Prisma's (`P2002`), not a SQLSTATE.
 */
export const postgresErrorClassifier: AuditErrorClassifier = (error) =>
  prismaErrorIn(error) ? prismaErrorClassifier(error) : sqlstateClass(codeOf(error, 'code'));

/** MySQL and MariaDB server error numbers that are the record's, not the storage's. */
const MYSQL_RECORD_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR: a NOT NULL column given NULL
  1062, // ER_DUP_ENTRY
  1136, // ER_WRONG_VALUE_COUNT_ON_ROW
  1146, // ER_NO_SUCH_TABLE
  1054, // ER_BAD_FIELD_ERROR: an unknown column
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1364, // ER_NO_DEFAULT_FOR_FIELD
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  3819, // ER_CHECK_CONSTRAINT_VIOLATED
  4025, // MariaDB ER_CONSTRAINT_FAILED
]);

/**
 * Classifies the errors of MySQL and MariaDB drivers (`mysql2`, `mysql`,
 * `mariadb`, and what wraps them) by their server error number (`errno`):
 * NULL, duplicate, data, constraint, unknown table or column errors are the
 * record's; everything else (connection errors such as `ECONNREFUSED` or
 * `PROTOCOL_CONNECTION_LOST`, 1040 too many connections, 1142 a missing
 * permission and 1290 read-only, which refuse every record alike, 1205 lock
 * wait timeout, 1213 deadlock, disk full) is the storage's.
 */
export const mysqlErrorClassifier: AuditErrorClassifier = (error) => mysqlErrnoClass(codeOf(error, 'errno'));

function mysqlErrnoClass(errno: unknown): AuditErrorClass {
  return typeof errno === 'number' && MYSQL_RECORD_ERRNOS.has(errno) ? 'record' : 'storage';
}

/*
 * Prisma Client errors are recognised by name, not by class: this package
 * imports no @prisma/client, and an application may load more than one copy.
 */

const PRISMA_ERROR_NAMES = new Set([
  'PrismaClientKnownRequestError',
  'PrismaClientUnknownRequestError',
  'PrismaClientRustPanicError',
  'PrismaClientInitializationError',
  'PrismaClientValidationError',
  'DriverAdapterError',
]);

/** Whether `error`, or an error it wraps, is Prisma Client's or one of its driver adapters'. */
function prismaErrorIn(error: unknown): boolean {
  for (const wrapped of wrappedErrors(error)) {
    if (PRISMA_ERROR_NAMES.has(readProperty(wrapped, 'name') as string)) return true;
  }
  return false;
}

/**
 * Prisma's request error codes that are the record's: the database, or Prisma
 * before it sent the query, refused this record. Every other code is the
 * storage's: P1xxx (connection), and among the P2xxx P2024 (no connection from
 * the pool in time), P2028 (transaction API), P2031 (MongoDB without a replica
 * set), P2034 (write conflict or deadlock, as SQLSTATE class 40), P2036 (the
 * driver adapter failed), P2037 (too many connections), and a code Prisma adds
 * later, so that no outage goes unseen.
 */
const PRISMA_RECORD_CODES = new Set([
  'P2000', // value too long for the column
  'P2001', // the record searched for does not exist
  'P2002', // unique constraint
  'P2003', // foreign key constraint
  'P2004', // a constraint failed on the database
  'P2005', // a stored value invalid for the field's type
  'P2006', // a value invalid for the field
  'P2007', // data validation
  'P2008', // the query failed to parse
  'P2009', // the query failed to validate
  'P2011', // null constraint
  'P2012', // a required value is missing
  'P2013', // a required argument is missing
  'P2014', // the change would violate a required relation
  'P2015', // a related record was not found
  'P2016', // query interpretation
  'P2017', // the records of a relation are not connected
  'P2018', // the required connected records were not found
  'P2019', // input error
  'P2020', // value out of range for the type
  'P2021', // the table does not exist
  'P2022', // the column does not exist
  'P2023', // inconsistent column data
  'P2025', // the operation depends on records that were not found
  'P2026', // a feature the database does not support
  'P2029', // too many query parameters
  'P2030', // no full-text index
  'P2033', // a number does not fit in 64 bits
]);

/**
 * The kinds of error Prisma's driver adapters (`@prisma/adapter-pg`,
 * `-mariadb`, `-better-sqlite3`…) translate a database's error into, that are
 * the record's. The adapter keeps the database's own code beside the kind.
 */
const PRISMA_ADAPTER_RECORD_KINDS = new Set([
  'LengthMismatch',
  'UniqueConstraintViolation',
  'NullConstraintViolation',
  'ForeignKeyConstraintViolation',
  'RestrictViolation',
  'InvalidInputValue',
  'ValueOutOfRange',
  'TableDoesNotExist',
  'ColumnNotFound',
  'InconsistentColumnData',
  'UnsupportedNativeDataType',
  'MissingFullTextSearchIndex',
]);

/**
 * What the error of a Prisma driver adapter (the `cause` of a
 * `DriverAdapterError`) says of a failed write, or `undefined` where it says
 * nothing Prisma's own code would not: a PostgreSQL error the adapter did not
 * translate (`kind: 'postgres'`) by its SQLSTATE, a MySQL one by its error
 * number, a translated one by its kind.
 */
function adapterErrorClass(cause: unknown): AuditErrorClass | undefined {
  const kind = readProperty(cause, 'kind');
  if (typeof kind !== 'string') return undefined;
  switch (kind) {
    case 'postgres':
      return sqlstateClass(readProperty(cause, 'code'));
    case 'mysql':
      return mysqlErrnoClass(readProperty(cause, 'code'));
    case 'sqlite':
    case 'mssql':
      return undefined;
    default:
      return PRISMA_ADAPTER_RECORD_KINDS.has(kind) ? 'record' : 'storage';
  }
}

function knownRequestErrorClass(error: object): AuditErrorClass {
  const code = readProperty(error, 'code');
  const meta = readProperty(error, 'meta');
  // With a driver adapter, meta.driverAdapterError holds what the database said;
  // a raw query (P2010) or an untranslated error (P2039) says nothing without it.
  const underneath = adapterErrorClass(readProperty(readProperty(meta, 'driverAdapterError'), 'cause'));
  if (underneath !== undefined) return underneath;
  // Prisma's own query engine (Prisma 6 and before) gives a failed raw query the database's code as meta.code.
  if (code === 'P2010') return sqlstateClass(readProperty(meta, 'code'));
  return PRISMA_RECORD_CODES.has(code as string) ? 'record' : 'storage';
}

/**
 * Classifies the errors of Prisma Client, whatever the database.
 * `PrismaClientKnownRequestError`: where Prisma wraps the database's error (a
 * driver adapter's `meta.driverAdapterError`, or the query engine's `meta.code`
 * of a failed raw query), that error decides, as {@link postgresErrorClassifier}
 * (by SQLSTATE) or {@link mysqlErrorClassifier} (by error number) would, or by
 * the adapter's kind (`UniqueConstraintViolation`…); otherwise the Prisma code:
 * the P2xxx codes about this record (unique P2002, foreign key P2003, null P2011,
 * value too long P2000…) are `'record'`; P1xxx (connection), P2024 (pool
 * timeout), P2034 (write conflict or deadlock), P2037 (too many connections)
 * and any code not known to be the record's are `'storage'`.
 * `PrismaClientValidationError` (the query's arguments do not fit the schema)
 * is `'record'`. `PrismaClientInitializationError`, `PrismaClientRustPanicError`,
 * `PrismaClientUnknownRequestError`, and any other error are `'storage'`.
 */
export const prismaErrorClassifier: AuditErrorClassifier = (error) => {
  for (const wrapped of wrappedErrors(error)) {
    switch (readProperty(wrapped, 'name')) {
      case 'PrismaClientKnownRequestError':
        return knownRequestErrorClass(wrapped);
      case 'PrismaClientValidationError':
        return 'record';
      case 'DriverAdapterError':
        // An adapter's error that reached the application untranslated.
        return adapterErrorClass(readProperty(wrapped, 'cause')) ?? 'storage';
      case 'PrismaClientInitializationError':
      case 'PrismaClientRustPanicError':
      case 'PrismaClientUnknownRequestError':
        return 'storage';
    }
  }
  return 'storage';
};

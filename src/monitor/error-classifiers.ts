import type { AuditErrorClassifier } from '../tracker/error-class.util.js';

/** A string property of `error` (or of its `cause`, where drivers and ORMs wrap it), read without ever throwing. */
function codeOf(error: unknown, key: string): unknown {
  try {
    for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 3; depth += 1) {
      const value = (current as Record<string, unknown>)[key];
      if (value !== undefined) return value;
      // TypeORM's QueryFailedError keeps the driver's error as driverError; others use cause.
      current =
        (current as { driverError?: unknown }).driverError ?? (current as { cause?: unknown }).cause ?? undefined;
    }
  } catch {
    // A hostile getter: no code.
  }
  return undefined;
}

/** PostgreSQL SQLSTATE classes (first two characters) whose errors are the record's, not the storage's. */
const POSTGRES_RECORD_CLASSES = new Set([
  '22', // data exception: a value out of range, too long, malformed
  '23', // integrity constraint violation: NOT NULL, unique, foreign key, check
  '42', // syntax error or access rule violation: a permission, a column or table the record names
  '44', // WITH CHECK OPTION violation
]);

/**
 * Classifies the errors of PostgreSQL drivers (`pg`, and what wraps it:
 * TypeORM, Prisma's driver adapter, Knex…) by their SQLSTATE `code`:
 * classes 22, 23, 42 and 44 (data, constraints, access rules) are the
 * record's; everything else, and an error without a SQLSTATE (a refused
 * connection, a timeout), is the storage's: 08 connection, 53 insufficient
 * resources (disk full), 57 operator intervention (shutdown), 58 system error,
 * 25 read-only transaction, 40 serialization and deadlock, XX internal.
 */
export const postgresErrorClassifier: AuditErrorClassifier = (error) => {
  const code = codeOf(error, 'code');
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'storage';
  return POSTGRES_RECORD_CLASSES.has(code.slice(0, 2)) ? 'record' : 'storage';
};

/** MySQL and MariaDB server error numbers that are the record's, not the storage's. */
const MYSQL_RECORD_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR: a NOT NULL column given NULL
  1062, // ER_DUP_ENTRY
  1136, // ER_WRONG_VALUE_COUNT_ON_ROW
  1142, // ER_TABLEACCESS_DENIED_ERROR: a permission
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
 * NULL, duplicate, data, constraint, unknown table or column and permission
 * errors are the record's; everything else (connection errors such as
 * `ECONNREFUSED` or `PROTOCOL_CONNECTION_LOST`, 1040 too many connections,
 * 1205 lock wait timeout, 1213 deadlock, 1290 read-only, disk full) is the storage's.
 */
export const mysqlErrorClassifier: AuditErrorClassifier = (error) => {
  const errno = codeOf(error, 'errno');
  return typeof errno === 'number' && MYSQL_RECORD_ERRNOS.has(errno) ? 'record' : 'storage';
};

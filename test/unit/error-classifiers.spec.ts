import { describe, expect, it } from '@jest/globals';
import { mysqlErrorClassifier, postgresErrorClassifier } from '../../src/index.js';
import { classifyError } from '../../src/tracker/error-class.util.js';

/** An error as `pg` makes it: a message and a SQLSTATE code. */
const pgError = (code: string) => Object.assign(new Error(`SQLSTATE ${code}`), { code });
/** An error as `mysql2` makes it: a code name and a server error number. */
const mysqlError = (errno: number, code = 'ER_X') => Object.assign(new Error(code), { errno, code });

describe('postgresErrorClassifier', () => {
  it.each([
    ['23502', 'record'], // not_null_violation
    ['23505', 'record'], // unique_violation
    ['23503', 'record'], // foreign_key_violation
    ['22001', 'record'], // string_data_right_truncation
    ['22P02', 'record'], // invalid_text_representation
    ['42501', 'storage'], // insufficient_privilege: a revoked grant refuses every record
    ['42P01', 'record'], // undefined_table
    ['44000', 'record'], // with_check_option_violation
    ['08006', 'storage'], // connection_failure
    ['57P01', 'storage'], // admin_shutdown
    ['53100', 'storage'], // disk_full
    ['58030', 'storage'], // io_error
    ['25006', 'storage'], // read_only_sql_transaction
    ['40P01', 'storage'], // deadlock_detected
    ['XX000', 'storage'], // internal_error
  ])('classifies SQLSTATE %s as %s', (code, kind) => {
    expect(postgresErrorClassifier(pgError(code))).toBe(kind);
  });

  it('calls an error without a SQLSTATE the storage’s: a refused connection, a timeout, anything', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const error of [refused, new Error('timeout'), 'text', null, undefined, 42, {}]) {
      expect(postgresErrorClassifier(error)).toBe('storage');
    }
  });

  it('finds the code where ORMs keep the driver error: TypeORM driverError, cause', () => {
    const typeorm = Object.assign(new Error('QueryFailedError'), { driverError: pgError('23502') });
    const wrapped = new Error('insert failed', { cause: pgError('23505') });
    expect(postgresErrorClassifier(typeorm)).toBe('record');
    expect(postgresErrorClassifier(wrapped)).toBe('record');
  });

  it('never throws, even on an error whose getters throw', () => {
    const hostile = {
      get code(): string {
        throw new Error('no');
      },
    };
    expect(postgresErrorClassifier(hostile)).toBe('storage');
  });
});

describe('mysqlErrorClassifier', () => {
  it.each([
    [1048, 'record'],
    [1062, 'record'],
    [1142, 'storage'], // a missing permission refuses every record
    [1146, 'record'],
    [1406, 'record'],
    [1452, 'record'],
    [3819, 'record'],
    [1040, 'storage'], // too many connections
    [1205, 'storage'], // lock wait timeout
    [1213, 'storage'], // deadlock
    [1290, 'storage'], // read-only
    [2002, 'storage'], // cannot connect
  ])('classifies errno %i as %s', (errno, kind) => {
    expect(mysqlErrorClassifier(mysqlError(errno))).toBe(kind);
  });

  it('calls a connection error without errno the storage’s', () => {
    const lost = Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
    expect(mysqlErrorClassifier(lost)).toBe('storage');
  });
});

describe('classifyError', () => {
  it('counts every failure as the storage’s without a classifier, or when the classifier fails or answers nonsense', () => {
    expect(classifyError(null, pgError('23502'))).toBe('storage');
    expect(
      classifyError(() => {
        throw new Error('bug');
      }, 'x'),
    ).toBe('storage');
    expect(classifyError(() => 'other' as never, 'x')).toBe('storage');
    expect(classifyError(() => 'ignore', 'x')).toBe('ignore');
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  PrismaClientInitializationError,
  PrismaClientKnownRequestError,
  PrismaClientRustPanicError,
  PrismaClientUnknownRequestError,
  PrismaClientValidationError,
} from '@prisma/client/runtime/client';
import { DriverAdapterError, type Error as AdapterErrorPayload } from '@prisma/driver-adapter-utils';
import { postgresErrorClassifier, prismaErrorClassifier } from '../../src/index.js';

/*
 * The real error classes of @prisma/client 7 and @prisma/driver-adapter-utils,
 * built as the client and its adapters build them (see
 * test/faults/prisma-classification.spec.ts for the same errors raised by a
 * real client over a real PostgreSQL).
 */

const clientVersion = '7.10.0';

const known = (code: string, meta?: Record<string, unknown>) =>
  new PrismaClientKnownRequestError(`failed with ${code}`, { code, clientVersion, meta });

/** What a driver adapter raises and the client keeps as meta.driverAdapterError. */
const adapterError = (payload: AdapterErrorPayload) => new DriverAdapterError(payload);

/** A PostgreSQL error the adapter did not translate (Prisma answers P2039, or P2010 for a raw query). */
const postgresPayload = (code: string): AdapterErrorPayload => ({
  kind: 'postgres',
  code,
  originalCode: code,
  severity: 'ERROR',
  message: `SQLSTATE ${code}`,
  detail: undefined,
  column: undefined,
  hint: undefined,
});

describe('prismaErrorClassifier', () => {
  it.each([
    'P2000', // value too long
    'P2002', // unique constraint
    'P2003', // foreign key constraint
    'P2004', // constraint failed
    'P2007', // data validation
    'P2011', // null constraint
    'P2012', // missing required value
    'P2020', // value out of range
    'P2021', // table does not exist
    'P2022', // column does not exist
    'P2025', // required record not found
    'P2029', // too many query parameters
    'P2033', // number out of 64 bits
  ])('calls the request error %s the record’s', (code) => {
    expect(prismaErrorClassifier(known(code))).toBe('record');
  });

  it.each([
    'P1000', // authentication failed
    'P1001', // cannot reach the database server
    'P1008', // operation timed out
    'P1017', // server closed the connection
    'P2010', // raw query failed, nothing underneath
    'P2024', // timed out fetching a connection from the pool
    'P2028', // transaction API error
    'P2031', // MongoDB without a replica set
    'P2034', // write conflict or deadlock
    'P2036', // error in the driver adapter
    'P2037', // too many database connections
    'P2039', // database error, nothing underneath
    'P6004', // Accelerate query timeout
    'P2999', // a code this version does not know
  ])('calls the request error %s the storage’s', (code) => {
    expect(prismaErrorClassifier(known(code))).toBe('storage');
  });

  it('reads the SQLSTATE of an untranslated PostgreSQL error underneath, as postgresErrorClassifier does', () => {
    for (const [sqlstate, kind] of [
      ['23514', 'record'], // check_violation
      ['42501', 'storage'], // insufficient_privilege: a revoked grant refuses every record
      ['25006', 'storage'], // read_only_sql_transaction
      ['53100', 'storage'], // disk_full
      ['57P01', 'storage'], // admin_shutdown
    ] as const) {
      const underneath = adapterError(postgresPayload(sqlstate));
      for (const code of ['P2039', 'P2010']) {
        expect({
          code,
          sqlstate,
          kind: prismaErrorClassifier(known(code, { driverAdapterError: underneath })),
        }).toEqual({ code, sqlstate, kind });
      }
      expect(postgresErrorClassifier(Object.assign(new Error(sqlstate), { code: sqlstate }))).toBe(kind);
    }
  });

  it('reads the kind a driver adapter translated the database’s error into, whatever the database', () => {
    const raw = (payload: AdapterErrorPayload) => known('P2010', { driverAdapterError: adapterError(payload) });
    // A raw query answers P2010 for every failure: the kind decides.
    expect(prismaErrorClassifier(raw({ kind: 'UniqueConstraintViolation', originalCode: '1062' }))).toBe('record');
    expect(prismaErrorClassifier(raw({ kind: 'NullConstraintViolation', originalCode: '23502' }))).toBe('record');
    expect(prismaErrorClassifier(raw({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }))).toBe('storage');
    expect(prismaErrorClassifier(raw({ kind: 'TransactionWriteConflict', originalCode: '40P01' }))).toBe('storage');
    expect(prismaErrorClassifier(raw({ kind: 'GenericJs', id: 1 }))).toBe('storage');
    // MySQL and MariaDB errors the adapter did not translate: by error number, as mysqlErrorClassifier.
    const mysql = (code: number) => raw({ kind: 'mysql', code, message: 'x', state: 'HY000', originalCode: `${code}` });
    expect(prismaErrorClassifier(mysql(1406))).toBe('record');
    expect(prismaErrorClassifier(mysql(1290))).toBe('storage');
    // SQLite and SQL Server codes are not read: the Prisma code decides.
    const sqlite = { kind: 'sqlite', extendedCode: 2067, message: 'x' } as const;
    expect(prismaErrorClassifier(known('P2039', { driverAdapterError: adapterError(sqlite) }))).toBe('storage');
  });

  it('reads the database code of a raw query that failed in Prisma’s own query engine (Prisma 6 and before)', () => {
    expect(prismaErrorClassifier(known('P2010', { code: '23505', message: 'duplicate key' }))).toBe('record');
    expect(prismaErrorClassifier(known('P2010', { code: '25006', message: 'read-only' }))).toBe('storage');
    expect(prismaErrorClassifier(known('P2010', { code: 'N/A', message: 'N/A' }))).toBe('storage');
  });

  it('calls a query that does not fit the schema the record’s, and the client’s own failures the storage’s', () => {
    expect(
      prismaErrorClassifier(new PrismaClientValidationError('Argument `action` is missing.', { clientVersion })),
    ).toBe('record');
    expect(prismaErrorClassifier(new PrismaClientInitializationError('Can’t reach', clientVersion, 'P1001'))).toBe(
      'storage',
    );
    expect(prismaErrorClassifier(new PrismaClientRustPanicError('PANIC', clientVersion))).toBe('storage');
    expect(prismaErrorClassifier(new PrismaClientUnknownRequestError('db error', { clientVersion }))).toBe('storage');
  });

  it('finds a Prisma error an application wrapped, and an adapter’s error that reached it untranslated', () => {
    expect(prismaErrorClassifier(new Error('audit insert failed', { cause: known('P2002') }))).toBe('record');
    expect(prismaErrorClassifier(adapterError({ kind: 'UniqueConstraintViolation', originalCode: '23505' }))).toBe(
      'record',
    );
    expect(prismaErrorClassifier(adapterError({ kind: 'ConnectionClosed' }))).toBe('storage');
  });

  it('calls anything else the storage’s, and never throws', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const hostile = known('P2002');
    Object.defineProperty(hostile, 'meta', {
      get() {
        throw new Error('no');
      },
    });
    for (const error of [refused, new Error('timeout exceeded when trying to connect'), 'text', null, undefined, {}]) {
      expect(prismaErrorClassifier(error)).toBe('storage');
    }
    expect(prismaErrorClassifier(hostile)).toBe('record');
  });
});

describe('postgresErrorClassifier and Prisma', () => {
  it('no longer calls Prisma’s P2002 an outage: it answers for Prisma errors as prismaErrorClassifier does', () => {
    const unique = known('P2002', {
      driverAdapterError: adapterError({ kind: 'UniqueConstraintViolation', originalCode: '23505' }),
    });
    expect(postgresErrorClassifier(unique)).toBe('record');
    expect(postgresErrorClassifier(known('P2002'))).toBe('record');
    expect(postgresErrorClassifier(known('P1001'))).toBe('storage');
    expect(
      postgresErrorClassifier(known('P2039', { driverAdapterError: adapterError(postgresPayload('53100')) })),
    ).toBe('storage');
  });

  it('still reads PostgreSQL’s own P0 class (PL/pgSQL) as a SQLSTATE', () => {
    // raise_exception: a trigger's RAISE, e.g. an append-only audit table refusing an UPDATE.
    expect(postgresErrorClassifier(Object.assign(new Error('raise'), { code: 'P0001' }))).toBe('storage');
  });
});

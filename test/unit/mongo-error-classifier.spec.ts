import { describe, expect, it } from '@jest/globals';
import {
  MongoClientBulkWriteError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoWriteConcernError,
} from 'mongodb';
import mongoose from 'mongoose';
import { createRequire } from 'node:module';
import { mongoErrorClassifier } from '../../src/index.js';

/*
 * The real error classes of the `mongodb` driver (7.x) and of Mongoose (9.x),
 * built as the driver builds them from a server's reply (see its
 * operations/insert.js, bulk/common.js and write_concern.js). No mongod runs
 * here: none can be installed on this machine (Debian has no package, and
 * mongodb-memory-server downloads its binary from outside the npm registry).
 */

// The bulk write result classes are not exported by the package's entry point.
const bulk = createRequire(import.meta.url)('mongodb/lib/bulk/common.js') as {
  BulkWriteResult: new (result: object, isOrdered: boolean) => { getWriteConcernError(): object | undefined };
  WriteError: new (error: object) => object;
  WriteConcernError: new (error: object) => object;
  MongoBulkWriteError: new (error: object, result: object) => Error;
};

/** What `insertOne` throws for the first write error of the server's reply. */
const writeError = (code: number, errmsg = `write error ${code}`) => new MongoServerError({ index: 0, code, errmsg });

/** What the server answers to a command it refuses as a whole. */
const commandError = (code: number, codeName: string, errorLabels: string[] = []) =>
  new MongoServerError({ ok: 0, code, codeName, errmsg: codeName, errorLabels });

/** What `insertMany` throws: a MongoBulkWriteError over a BulkWriteResult. */
function bulkWriteError(codes: number[], writeConcernError?: { code: number; errmsg: string }) {
  const writeErrors = codes.map((code, index) => new bulk.WriteError({ index, code, errmsg: `write error ${code}` }));
  const result = new bulk.BulkWriteResult(
    {
      ok: 1,
      writeErrors,
      writeConcernErrors: writeConcernError ? [new bulk.WriteConcernError(writeConcernError)] : [],
      insertedIds: [],
      nInserted: 0,
      nUpserted: 0,
      nMatched: 0,
      nModified: 0,
      nRemoved: 0,
      upserted: [],
    },
    false,
  );
  return codes.length > 0
    ? new bulk.MongoBulkWriteError({ message: 'write error', code: codes[0], writeErrors }, result)
    : new bulk.MongoBulkWriteError(result.getWriteConcernError()!, result);
}

describe('mongoErrorClassifier', () => {
  it.each([
    [11000, 'DuplicateKey'],
    [11001, 'duplicate key on update (old servers)'],
    [121, 'DocumentValidationFailure'],
    [10334, 'BSONObjectTooLarge'],
    [2, 'BadValue'],
    [13, 'Unauthorized'],
    [52, 'DollarPrefixedFieldName'],
    [66, 'ImmutableField'],
  ])('calls a write refused with code %i (%s) the record’s', (code) => {
    expect(mongoErrorClassifier(writeError(code))).toBe('record');
  });

  it.each([
    [10107, 'NotWritablePrimary'],
    [13435, 'NotPrimaryNoSecondaryOk'],
    [13436, 'NotPrimaryOrSecondary'],
    [10058, 'LegacyNotPrimary'],
    [189, 'PrimarySteppedDown'],
    [91, 'ShutdownInProgress'],
    [11600, 'InterruptedAtShutdown'],
    [11602, 'InterruptedDueToReplStateChange'],
    [14031, 'OutOfDiskSpace'],
    [64, 'WriteConcernTimeout'],
    [100, 'UnsatisfiableWriteConcern'],
    [112, 'WriteConflict'],
    [50, 'MaxTimeMSExpired'],
    [18, 'AuthenticationFailed'],
  ])('calls a command refused with code %i (%s) the storage’s', (code, codeName) => {
    expect(mongoErrorClassifier(commandError(code, codeName))).toBe('storage');
  });

  it('calls a write concern error the storage’s, as MongoWriteConcernError or inside a bulk write', () => {
    const timeout = { code: 64, codeName: 'WriteConcernTimeout', errmsg: 'waiting for replication timed out' };
    expect(mongoErrorClassifier(new MongoWriteConcernError({ ok: 1, n: 1, writeConcernError: timeout }))).toBe(
      'storage',
    );
    expect(mongoErrorClassifier(bulkWriteError([], timeout))).toBe('storage');
    // Duplicates that also missed their write concern: the storage is failing too.
    expect(mongoErrorClassifier(bulkWriteError([11000], timeout))).toBe('storage');
  });

  it('calls a bulk write the record’s only when every failed document was refused for itself', () => {
    expect(mongoErrorClassifier(bulkWriteError([11000]))).toBe('record');
    expect(mongoErrorClassifier(bulkWriteError([11000, 121]))).toBe('record');
    expect(mongoErrorClassifier(bulkWriteError([11000, 14031]))).toBe('storage');
    const clientBulk = new MongoClientBulkWriteError({ message: 'client bulk write failed' });
    clientBulk.writeErrors.set(0, { code: 11000, message: 'E11000' });
    expect(mongoErrorClassifier(clientBulk)).toBe('record');
    clientBulk.writeConcernErrors.push({ code: 64, message: 'timed out' });
    expect(mongoErrorClassifier(clientBulk)).toBe('storage');
  });

  it('calls a record code the storage’s when the error is labelled as retryable', () => {
    expect(mongoErrorClassifier(commandError(2, 'BadValue', ['TransientTransactionError']))).toBe('storage');
    expect(mongoErrorClassifier(commandError(10107, 'NotWritablePrimary', ['RetryableWriteError']))).toBe('storage');
  });

  it('calls the driver’s own failures the storage’s, whatever code they carry', () => {
    const refused = new MongoServerError({ ok: 0, code: 13, errmsg: 'not authorized' });
    const selection = new MongoServerSelectionError('Server selection timed out', {
      error: refused,
      servers: new Map(),
      type: 'Unknown',
    } as never);
    expect(selection.code).toBe(13);
    expect(mongoErrorClassifier(selection)).toBe('storage');
    expect(mongoErrorClassifier(new MongoNetworkError('connection 1 to 127.0.0.1:27017 closed'))).toBe('storage');
    expect(mongoErrorClassifier(new MongoNetworkTimeoutError('connection timed out'))).toBe('storage');
    expect(mongoErrorClassifier(new MongoNotConnectedError('Client must be connected'))).toBe('storage');
    expect(mongoErrorClassifier(new MongoInvalidArgumentError('Document is larger than the maximum size'))).toBe(
      'record',
    );
  });

  it('calls Mongoose’s errors about the document the record’s, and its connection errors the storage’s', async () => {
    const AuditLog = mongoose.model(
      'AuditLogForClassifier',
      new mongoose.Schema({ actor: { type: String, required: true }, at: Date }),
    );
    const invalid = await new AuditLog({ at: 'not a date' }).validate().catch((error: unknown) => error);
    expect(invalid).toMatchObject({ name: 'ValidationError' });
    expect(mongoErrorClassifier(invalid)).toBe('record');
    expect(mongoErrorClassifier(new mongoose.Error.CastError('date', 'not a date', 'at'))).toBe('record');
    expect(mongoErrorClassifier(new mongoose.Error.VersionError(new AuditLog(), 1, []))).toBe('record');
    expect(mongoErrorClassifier(Reflect.construct(mongoose.Error.DocumentNotFoundError, [{}, 'AuditLog', 0, {}]))).toBe(
      'record',
    );
    expect(mongoErrorClassifier(new mongoose.Error.StrictModeError('extra'))).toBe('record');
    // The server selection error of a connection, and the buffering timeout of a model used before it connects.
    expect(mongoErrorClassifier(new mongoose.Error.MongooseServerSelectionError('connect ECONNREFUSED'))).toBe(
      'storage',
    );
    expect(
      mongoErrorClassifier(new mongoose.Error('Operation `auditlogs.insertOne()` buffering timed out after 10000ms')),
    ).toBe('storage');
    // Mongoose hands the driver's errors through as they are.
    expect(mongoErrorClassifier(writeError(11000))).toBe('record');
  });

  it('finds a driver error an application wrapped, calls anything else the storage’s, and never throws', () => {
    expect(mongoErrorClassifier(new Error('audit insert failed', { cause: writeError(11000) }))).toBe('record');
    const hostile = writeError(11000);
    Object.defineProperty(hostile, 'code', {
      get() {
        throw new Error('no');
      },
    });
    expect(mongoErrorClassifier(hostile)).toBe('storage');
    const numbered = Object.assign(new Error('not the driver’s'), { code: 11000 });
    for (const error of [numbered, new Error('timeout'), 'text', null, undefined, 42, {}]) {
      expect(mongoErrorClassifier(error)).toBe('storage');
    }
  });
});

import type { AuditErrorClass, AuditErrorClassifier } from './error-class.util.js';
import { readProperty, wrappedErrors } from './error-classifiers.js';

/*
 * Errors are recognised by name and code, not by class: this package imports
 * neither `mongodb` nor `mongoose`, and an application may load two copies of
 * the driver (its own and Mongoose's).
 */

/** MongoDB server error codes that are the record's: the server answered and refused this document. */
const MONGO_RECORD_CODES = new Set([
  2, // BadValue
  13, // Unauthorized: a permission, as PostgreSQL's 42501
  14, // TypeMismatch
  52, // DollarPrefixedFieldName
  53, // InvalidIdField
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  66, // ImmutableField
  116, // DocTooLargeForCapped
  121, // DocumentValidationFailure: the collection's validator
  10334, // BSONObjectTooLarge
  11000, // DuplicateKey
  11001, // duplicate key on update, from old servers
  17280, // KeyTooLong, from servers before 4.2
]);

/**
 * Errors about the document or the call itself, raised by Mongoose before
 * (or instead of) a write, and by the driver for an invalid argument.
 */
const MONGO_RECORD_ERROR_NAMES = new Set([
  'ValidationError', // Mongoose: the schema's validators
  'CastError', // Mongoose: a value that does not cast to the path's type
  'StrictModeError', // Mongoose: a path not in the schema, with strict: 'throw'
  'VersionError', // Mongoose: the document changed since it was loaded
  'DocumentNotFoundError', // Mongoose: save() of a document no longer there
  'DivergentArrayError', // Mongoose: an unsafe array update
  'ObjectParameterError', // Mongoose: an argument that is not an object
  'MongooseBulkWriteError', // Mongoose: insertMany/bulkWrite whose valid documents were written
  'MongoInvalidArgumentError', // driver: an invalid argument, a document over 16 MB
]);

/** Error labels by which the server or the driver says a write may succeed if retried: the storage's state, never the record's. */
const MONGO_STORAGE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'UnknownTransactionCommitResult'];

function hasStorageLabel(error: object): boolean {
  const labels = readProperty(error, 'errorLabels');
  return Array.isArray(labels) && labels.some((label) => MONGO_STORAGE_LABELS.includes(label));
}

/** Whether a bulk write reported a write concern error: the writes were not made durable as asked. */
function hasWriteConcernError(error: object): boolean {
  // MongoBulkWriteError: its BulkWriteResult; MongoClientBulkWriteError: an array of its own.
  const result = readProperty(error, 'result');
  const getWriteConcernError = readProperty(result, 'getWriteConcernError');
  if (typeof getWriteConcernError === 'function' && getWriteConcernError.call(result) !== undefined) return true;
  const errors = readProperty(error, 'writeConcernErrors');
  return Array.isArray(errors) && errors.length > 0;
}

/** The codes of a bulk write's per-document errors (an array for `insertMany`, a Map for `client.bulkWrite`). */
function writeErrorCodes(error: object): unknown[] {
  const errors = readProperty(error, 'writeErrors');
  const list = Array.isArray(errors) ? errors : errors instanceof Map ? [...errors.values()] : [];
  return list.map((writeError) => readProperty(writeError, 'code'));
}

/** What one error of the chain says, or `undefined` where it is neither the driver's nor Mongoose's. */
function mongoErrorClass(error: object): AuditErrorClass | undefined {
  const name = readProperty(error, 'name');
  if (typeof name !== 'string') return undefined;
  if (MONGO_RECORD_ERROR_NAMES.has(name)) return 'record';
  if (!name.startsWith('Mongo')) return undefined;
  if (hasStorageLabel(error)) return 'storage';
  switch (name) {
    case 'MongoBulkWriteError':
    case 'MongoClientBulkWriteError': {
      const codes = writeErrorCodes(error);
      const allRecord = codes.length > 0 && codes.every((code) => MONGO_RECORD_CODES.has(code as number));
      return allRecord && !hasWriteConcernError(error) ? 'record' : 'storage';
    }
    // The server's answer to this write; MongoError is what drivers before 4.0 threw for it.
    case 'MongoServerError':
    case 'MongoError': {
      const code = readProperty(error, 'code');
      return typeof code === 'number' && MONGO_RECORD_CODES.has(code) ? 'record' : 'storage';
    }
    // The driver's own failures (network, server selection, pool, timeout, a closed client),
    // MongoWriteConcernError, and Mongoose's (server selection, buffering timeout), whatever code they carry.
    default:
      return 'storage';
  }
}

/**
 * Classifies the errors of the MongoDB Node.js driver (`mongodb`) and of
 * Mongoose. `'record'`: the server refused this document (duplicate key 11000
 * and 11001, document validation 121, a document too large 10334, a field name
 * the server rejects, Unauthorized 13), a bulk write all of whose failed
 * documents failed so, Mongoose's ValidationError, CastError, StrictModeError,
 * VersionError and DocumentNotFoundError, and the driver's
 * MongoInvalidArgumentError. `'storage'`: everything else, among them
 * MongoNetworkError, MongoServerSelectionError, MongoWriteConcernError and any
 * bulk write with a write concern error, an error labelled
 * RetryableWriteError or TransientTransactionError, not writable primary and
 * node recovering (10107, 13435, 13436, 10058, 189, 91, 11600, 11602), write
 * concern timeout 64, disk full 14031, MongooseServerSelectionError, Mongoose's
 * buffering timeout, and any error it does not know.
 */
export const mongoErrorClassifier: AuditErrorClassifier = (error) => {
  for (const wrapped of wrappedErrors(error)) {
    const kind = mongoErrorClass(wrapped);
    if (kind !== undefined) return kind;
  }
  return 'storage';
};

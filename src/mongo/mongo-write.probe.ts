import { fail, readObject, readString, rejectUnknownKeys } from '../options/option-readers.util.js';

/** Where the MongoDB write probe inserts the document it aborts. */
export interface AuditMongoWriteProbeOptions {
  /**
   * The collection the probe inserts into, inside a transaction it always
   * aborts: your audit collection, so the probe meets what audit writes meet
   * (a primary stepped down, a revoked role, the collection's validator).
   */
  collection: string;
  /**
   * The database of `collection`.
   * @default the database of the client's connection string
   */
  database?: string;
  /**
   * The probe document. Give every field the collection's validator requires;
   * the document is never committed. An `_id` is generated for each probe
   * unless you give one.
   * @default {} (a document with a generated `_id` only)
   */
  document?: Record<string, unknown>;
}

/** The part of a `mongodb` `ClientSession` the probe uses. */
export interface MongoSessionLike {
  startTransaction(): void;
  abortTransaction(): Promise<unknown>;
  endSession(): Promise<unknown>;
}

/**
 * The part of a `mongodb` `MongoClient` the probe uses, so that this module
 * needs no import of `mongodb` (any 6.x or 7.x `MongoClient` fits, Mongoose's
 * `connection.getClient()` included).
 */
export interface MongoClientLike {
  startSession(): MongoSessionLike;
  db(name?: string): {
    collection(name: string): {
      /** Called with the session {@link startSession} returned. */
      insertOne(document: Record<string, unknown>, options?: { session?: unknown }): Promise<unknown>;
    };
  };
}

const KEYS = ['collection', 'database', 'document'];

/**
 * A `probe.check` that exercises a real audit write to MongoDB: in a
 * transaction of its own, it inserts `document` into `collection` and aborts
 * the transaction. It fails as an audit write would (no primary, a primary
 * stepped down, a revoked role, the collection's validator) and never leaves a
 * document. Transactions need a replica set or a sharded cluster (Atlas and
 * any production deployment are one); a standalone server refuses them, so
 * the probe fails there (`IllegalOperation`, code 20).
 *
 * ```ts
 * AuditAlertModule.forRoot({ probe: { check: mongoWriteProbe(client, { collection: 'audit_log' }) } })
 * ```
 * @throws AuditAlertConfigError at once when `options` is invalid.
 */
export function mongoWriteProbe(client: MongoClientLike, options: AuditMongoWriteProbeOptions): () => Promise<void> {
  const path = 'mongoWriteProbe(options)';
  const source = readObject(options, path);
  rejectUnknownKeys(source, KEYS, `${path}.`);
  if (source.collection === undefined) {
    fail(`${path}.collection`, undefined, 'the name of the collection to insert into');
  }
  const collection = readString(source, 'collection', '', `${path}.collection`);
  const database = source.database === undefined ? undefined : readString(source, 'database', '', `${path}.database`);
  const document = source.document === undefined ? {} : { ...readObject(source.document, `${path}.document`) };
  return async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      try {
        // A copy each time: the driver writes the _id it generates into the document it is given.
        await client
          .db(database)
          .collection(collection)
          .insertOne({ ...document }, { session });
      } catch (error) {
        // The insert's error says why the storage failed; a failed abort on a broken connection would hide it.
        await session.abortTransaction().catch(() => undefined);
        throw error;
      }
      await session.abortTransaction();
    } finally {
      // The verdict is the write's: ending the session (which aborts what is still open) cannot change it.
      await session.endSession().catch(() => undefined);
    }
  };
}

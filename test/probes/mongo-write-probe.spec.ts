import { afterEach, describe, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { AuditAlertConfigError, mongoErrorClassifier } from '../../src/index.js';
import { type MongoClientLike, type MongoSessionLike, mongoWriteProbe } from '../../src/mongo/index.js';
import { findFreePort } from '../support/free-port.js';
import { monitorHarness } from '../support/monitor-harness.js';

/*
 * nestjs-audit-alert/mongo's write probe. No mongod runs here (Debian has no
 * package for it, and mongodb-memory-server downloads its binary from outside
 * the npm registry), so the probe's steps are checked on a recording client,
 * and the real `mongodb` driver is used only where no server is needed: its
 * MongoClient fits the probe's type, and, pointed at a port where nothing
 * listens, fails the probe with a real MongoServerSelectionError.
 */

const PROBE_DOCUMENT = { actor: 'probe', action: 'probe' };

/** A client that records what the probe asks of it; `fail` makes one step reject. */
function recordingClient(fail: { insert?: Error; abort?: Error; end?: Error } = {}) {
  const calls: string[] = [];
  const inserted: Record<string, unknown>[] = [];
  const sessions: MongoSessionLike[] = [];
  const client: MongoClientLike = {
    startSession(): MongoSessionLike {
      const id = sessions.length + 1;
      calls.push(`startSession ${id}`);
      const session: MongoSessionLike = {
        startTransaction: () => void calls.push(`startTransaction ${id}`),
        abortTransaction: async () => {
          calls.push(`abortTransaction ${id}`);
          if (fail.abort) throw fail.abort;
        },
        endSession: async () => {
          calls.push(`endSession ${id}`);
          if (fail.end) throw fail.end;
        },
      };
      sessions.push(session);
      return session;
    },
    db: (database) => ({
      collection: (collection) => ({
        insertOne: async (document, options) => {
          calls.push(
            `insertOne ${database ?? '(default)'}.${collection} in session ${sessions.indexOf(options?.session as MongoSessionLike) + 1}`,
          );
          // As the driver does: the generated _id is written into the document given.
          document._id ??= `id-${inserted.length}`;
          inserted.push({ ...document });
          if (fail.insert) throw fail.insert;
        },
      }),
    }),
  };
  return { client, calls, inserted };
}

describe('mongoWriteProbe', () => {
  it('inserts the document in a transaction of its own and aborts it, never committing', async () => {
    const { client, calls, inserted } = recordingClient();
    const check = mongoWriteProbe(client, { collection: 'audit_log', document: PROBE_DOCUMENT });
    await check();
    await check();
    expect(calls).toEqual([
      'startSession 1',
      'startTransaction 1',
      'insertOne (default).audit_log in session 1',
      'abortTransaction 1',
      'endSession 1',
      'startSession 2',
      'startTransaction 2',
      'insertOne (default).audit_log in session 2',
      'abortTransaction 2',
      'endSession 2',
    ]);
    // A fresh copy each time: the _id of the first probe is not reused by the second.
    expect(inserted).toEqual([
      { ...PROBE_DOCUMENT, _id: 'id-0' },
      { ...PROBE_DOCUMENT, _id: 'id-1' },
    ]);
    expect(PROBE_DOCUMENT).not.toHaveProperty('_id');
  });

  it('writes to the database named, and inserts an empty document by default', async () => {
    const { client, calls, inserted } = recordingClient();
    await mongoWriteProbe(client, { database: 'audit', collection: 'events' })();
    expect(calls).toContain('insertOne audit.events in session 1');
    expect(inserted).toEqual([{ _id: 'id-0' }]);
  });

  it('fails with the insert’s error, after aborting and ending the session, even when those fail too', async () => {
    const refused = Object.assign(new Error('not primary'), { name: 'MongoServerError', code: 10107 });
    const { client, calls } = recordingClient({ insert: refused, abort: new Error('abort'), end: new Error('end') });
    await expect(mongoWriteProbe(client, { collection: 'audit_log' })()).rejects.toBe(refused);
    expect(calls.slice(-2)).toEqual(['abortTransaction 1', 'endSession 1']);
  });

  it('fails when the abort fails after a good insert: the write may not have been undone', async () => {
    const abort = new Error('connection closed');
    const { client, calls } = recordingClient({ abort });
    await expect(mongoWriteProbe(client, { collection: 'audit_log' })()).rejects.toBe(abort);
    expect(calls.at(-1)).toBe('endSession 1');
  });

  it('rejects invalid options at once, naming them', () => {
    const { client } = recordingClient();
    expect(() => mongoWriteProbe(client, {} as never)).toThrow(
      'Invalid audit alert option "mongoWriteProbe(options).collection": received undefined; expected the name of the collection to insert into.',
    );
    expect(() => mongoWriteProbe(client, { collection: ' ' })).toThrow(AuditAlertConfigError);
    expect(() => mongoWriteProbe(client, { collection: 'audit_log', database: '' })).toThrow(
      'Invalid audit alert option "mongoWriteProbe(options).database"',
    );
    expect(() => mongoWriteProbe(client, { collection: 'audit_log', document: [] as never })).toThrow(
      'Invalid audit alert option "mongoWriteProbe(options).document"',
    );
    expect(() => mongoWriteProbe(client, { collection: 'audit_log', table: 'x' } as never)).toThrow(
      'Unknown audit alert option "mongoWriteProbe(options).table"',
    );
  });

  it('keeps an outage open while it fails and ends it once it passes', async () => {
    let down = true;
    const { client } = recordingClient();
    const check = mongoWriteProbe(
      {
        ...client,
        db: (name) => ({
          collection: (collection) => ({
            insertOne: async (document, options) => {
              if (down) throw Object.assign(new Error('not primary'), { name: 'MongoServerError', code: 10107 });
              await client.db(name).collection(collection).insertOne(document, options);
            },
          }),
        }),
      },
      { collection: 'audit_log' },
    );
    const { monitor } = monitorHarness({ thresholdMs: 1_000, probe: { check, intervalMs: 5_000 } });
    monitor.recordFailure(new Error('insert failed'));
    await monitor.probeNow();
    expect(monitor.getStatus()).toMatchObject({
      state: 'failing',
      lastProbeError: expect.stringContaining('not primary'),
    });
    down = false;
    await monitor.probeNow();
    expect(monitor.getStatus().state).toBe('healthy');
    monitor.close();
  });

  describe('with the real mongodb driver and no server', () => {
    let client: MongoClient | undefined;

    afterEach(async () => {
      await client?.close();
      client = undefined;
    });

    it('takes a MongoClient as it is, and fails with its MongoServerSelectionError, which the classifier calls the storage’s', async () => {
      const port = await findFreePort();
      client = new MongoClient(`mongodb://127.0.0.1:${port}/audit`, { serverSelectionTimeoutMS: 200 });
      const check = mongoWriteProbe(client, { collection: 'audit_log', document: PROBE_DOCUMENT });
      const error = await check().then(
        () => new Error('the probe passed'),
        (rejection: unknown) => rejection,
      );
      expect(error).toMatchObject({ name: 'MongoServerSelectionError' });
      expect(mongoErrorClassifier(error)).toBe('storage');
    });
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { postgresErrorClassifier } from '../../src/index.js';
import { PostgresServer } from '../support/postgres-server.js';
import { advanceUntil, io, quarantined, spoolHarness, type SpoolHarness, THRESHOLD_MS } from './spool-harness.js';

/*
 * A refusal that applies to every record, against a real PostgreSQL 15: the
 * INSERT grant of the application's role revoked while records are spooled.
 * With postgresErrorClassifier, a missing permission (42501) is the storage's
 * failure: the writes are spooled and the monitor leaves `healthy`; a replay
 * refused for every record deletes nothing and sets nothing aside; once the
 * grant is back, every record goes in.
 */

const TIMEOUT_MS = 60_000;

describe('the spool against a revoked grant (PostgreSQL 15)', () => {
  const server = new PostgresServer();
  let admin: pg.Client;
  let writer: pg.Pool;
  let h: SpoolHarness | null = null;

  beforeAll(async () => {
    await server.start();
    admin = new pg.Client({ connectionString: server.connectionString });
    await admin.connect();
    await admin.query('CREATE ROLE audit_writer LOGIN');
    await admin.query('CREATE TABLE audit_grant (id text PRIMARY KEY, n int NOT NULL)');
    await admin.query('GRANT SELECT, INSERT ON audit_grant TO audit_writer');
    writer = new pg.Pool({ connectionString: server.connectionString.replace('postgres@', 'audit_writer@'), max: 2 });
  }, TIMEOUT_MS);

  afterEach(() => {
    h?.monitor.close();
  });

  afterAll(async () => {
    await writer.end();
    await admin.end();
    await server.dispose();
  }, TIMEOUT_MS);

  const insert = (record: { n: number }, id: string) =>
    writer.query('INSERT INTO audit_grant (id, n) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, record.n]);

  it(
    'spools the writes a revoked grant refuses, leaves healthy, deletes none on replay, and replays all once granted again',
    async () => {
      let refusals = 0;
      h = await spoolHarness(
        {
          replay: (record: unknown, { id }: { id: string }) =>
            insert(record as { n: number }, id).catch((error: unknown) => {
              refusals += 1;
              throw error;
            }),
        },
        {
          classify: postgresErrorClassifier,
          probe: {
            check: () => writer.query('SELECT 1 FROM audit_grant LIMIT 1'),
            intervalMs: 1_000,
            timeoutMs: 5_000,
          },
        },
      );
      const monitor = h.monitor;
      await admin.query('REVOKE INSERT ON audit_grant FROM audit_writer');

      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          monitor.track(() => insert({ n: i }, `g-${i}`), { record: { n: i }, id: `g-${i}` }),
        ),
      );
      // Kept, not rejected as 30 bad records.
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(monitor.spool!.pending).toBe(30);
      h.clock.advance(THRESHOLD_MS);
      expect(monitor.getStatus().state).not.toBe('healthy');
      expect(h.of('audit.storage.unreachable')).toHaveLength(1);

      // The probe (a SELECT, still granted) ends the outage; the replay is refused record after record.
      await advanceUntil(h, () => monitor.getStatus().state === 'healthy', 'the probe to end the outage', 1_000);
      for (let i = 0; i < 20; i += 1) {
        await io(20);
        h.clock.advance(500);
      }
      expect(refusals).toBeGreaterThan(3);
      expect(monitor.spool!.pending).toBe(30);
      expect(await quarantined(h.dir)).toEqual([]);
      expect(h.of('audit.spool.quarantined')).toEqual([]);
      expect((await admin.query('SELECT count(*)::int AS n FROM audit_grant')).rows[0]).toEqual({ n: 0 });

      await admin.query('GRANT INSERT ON audit_grant TO audit_writer');
      await advanceUntil(h, () => monitor.spool!.pending === 0, 'the replay once granted', 1_000);
      const { rows } = await admin.query<{ id: string }>('SELECT id FROM audit_grant ORDER BY n');
      expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => `g-${i}`));
      expect(await quarantined(h.dir)).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

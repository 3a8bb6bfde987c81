import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AUDIT_ALERT_LEDGER } from '../../src/audit-alert.constants.js';
import {
  AUDIT_ALERT_CLOCK,
  type AuditAlertEvent,
  AuditAlertHook,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  type AuditGapRecord,
  AuditStorageMonitor,
  type OnAuditAlert,
} from '../../src/index.js';
import type { LedgerRecord } from '../../src/ledger/ledger-entry.interface.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';

/*
 * The gap record against a real PostgreSQL 15: the database is stopped, the
 * outage alerted, the records of the failed writes spooled; the database comes
 * back, the spool replays, and the application's gapRecord inserts one row
 * into a real table, after the replay (the row counts the trail's rows as it
 * is inserted), once. Time is the manual clock's.
 */

const TEST_TIMEOUT_MS = 60_000;
const THRESHOLD_MS = 1_000;

@AuditAlertHook()
@Injectable()
class EventLog implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

interface GapRow {
  outage_id: string;
  from_at: Date;
  to_at: Date;
  writes_failed: number;
  records_spooled: number;
  records_replayed: number;
  trail_rows: number;
}

describe('gap records against a real PostgreSQL', () => {
  const server = new PostgresServer();
  let pool: pg.Pool;
  let app: INestApplication | undefined;
  let clock: ManualClock;
  let directory: string;

  beforeAll(async () => {
    await server.start();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 2, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => undefined);
    await pool.query('CREATE TABLE audit_trail (id text PRIMARY KEY, action text NOT NULL)');
    await pool.query(`CREATE TABLE audit_gaps (
      outage_id text PRIMARY KEY, from_at timestamptz NOT NULL, to_at timestamptz NOT NULL,
      writes_failed int NOT NULL, records_spooled int, records_replayed int, trail_rows int NOT NULL)`);
  }, TEST_TIMEOUT_MS);

  afterEach(async () => {
    if (app) {
      const closing = app.close();
      // Shutdown waits on the clock for deliveries in flight.
      let closed = false;
      void closing.then(() => (closed = true));
      while (!closed) {
        clock.advance(10_000);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await closing;
    }
    app = undefined;
    if (!server.running) await server.start();
    await pool.query('TRUNCATE audit_trail, audit_gaps');
    await rm(directory, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await pool.end();
    await server.dispose();
  }, TEST_TIMEOUT_MS);

  /** The application's gap record: a real INSERT, idempotent on the outage id, counting the trail's rows as it runs. */
  const insertGap = (gap: AuditGapRecord) =>
    pool.query(
      `INSERT INTO audit_gaps (outage_id, from_at, to_at, writes_failed, records_spooled, records_replayed, trail_rows)
       VALUES ($1, $2, $3, $4, $5, $6, (SELECT count(*) FROM audit_trail))
       ON CONFLICT (outage_id) DO NOTHING`,
      [gap.outageId, gap.from, gap.to, gap.writesFailed, gap.recordsSpooled, gap.recordsReplayed],
    );

  async function boot(gapRecord: (gap: AuditGapRecord) => Promise<unknown>, extra: AuditAlertModuleOptions = {}) {
    clock = new ManualClock();
    directory = await mkdtemp(join(tmpdir(), 'audit-gap-pg-'));
    const ledger: LedgerRecord[] = [];
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuditAlertModule.forRoot({
          serviceName: 'ledger-api',
          thresholdMs: THRESHOLD_MS,
          degraded: false,
          // Long on the manual clock: a replay is never timed out while the real database takes its time.
          writeTimeoutMs: 3_600_000,
          hookTimeoutMs: 2_000,
          spool: {
            directory,
            replayPerSecond: 10,
            replay: (record, { id }) =>
              pool.query('INSERT INTO audit_trail (id, action) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
                id,
                (record as { action: string }).action,
              ]),
          },
          gapRecord,
          ...extra,
        }),
      ],
      providers: [EventLog],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .overrideProvider(AUDIT_ALERT_LEDGER)
      .useValue({
        append: (record: LedgerRecord) => ledger.push(record),
        appendSynced: (record: LedgerRecord) => Promise.resolve(ledger.push(record) > 0),
      })
      .setLogger(logger)
      .compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    return { monitor: app.get(AuditStorageMonitor), events: app.get(EventLog).events, ledger, logger };
  }

  const write = (monitor: AuditStorageMonitor, id: string) =>
    monitor.track(() => pool.query('INSERT INTO audit_trail (id, action) VALUES ($1, $2)', [id, `action ${id}`]), {
      record: { action: `action ${id}` },
      id,
    });

  /** Stops the database, spools three records, alerts; starts it again and recovers with a fourth write. */
  async function outage(monitor: AuditStorageMonitor, events: AuditAlertEvent[]): Promise<void> {
    await write(monitor, 'before');
    // Fast, not immediate: the test server runs with synchronous_commit off, and an immediate stop would lose the last commits.
    await server.stop({ mode: 'fast' });
    for (const id of ['a', 'b', 'c']) await expect(write(monitor, id)).resolves.toBeUndefined();
    clock.advance(THRESHOLD_MS);
    await waitFor(() => events.some((e) => e.type === 'audit.storage.unreachable'), 'the alert');
    await server.start();
    await write(monitor, 'after');
    await waitFor(() => events.some((e) => e.type === 'audit.storage.recovered'), 'the recovery');
  }

  /** Moves the manual clock on, letting real I/O happen between steps, until `condition` holds. */
  async function drive(condition: () => boolean | Promise<boolean>, what: string, stepMs = 100): Promise<void> {
    for (let i = 0; i < 1_000; i += 1) {
      if (await condition()) return;
      clock.advance(stepMs);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const gapRows = async (): Promise<GapRow[]> => (await pool.query<GapRow>('SELECT * FROM audit_gaps')).rows;

  it(
    'writes one row after the replay has put every spooled record in the trail, once',
    async () => {
      const calls: AuditGapRecord[] = [];
      const { monitor, events, ledger } = await boot(async (gap) => {
        calls.push(gap);
        await insertGap(gap);
      });
      await outage(monitor, events);
      const recovered = events.find((e) => e.type === 'audit.storage.recovered')!;
      // The replay waits on the manual clock (replayPerSecond): nothing is written before it has finished.
      expect(calls).toEqual([]);

      await drive(async () => (await gapRows()).length === 1, 'the gap row');
      const replayedAt = events.findIndex((e) => e.type === 'audit.spool.replayed');
      expect(replayedAt).toBeGreaterThan(-1);

      const [row] = await gapRows();
      expect(row).toEqual({
        outage_id: recovered.outageId,
        from_at: (recovered as { outageStartedAt: Date }).outageStartedAt,
        to_at: (recovered as { recoveredAt: Date }).recoveredAt,
        writes_failed: 3,
        records_spooled: 3,
        records_replayed: 3,
        // before, after, and the three replayed: the gap was written once the trail held them all.
        trail_rows: 5,
      });
      expect(calls).toHaveLength(1);
      expect(ledger.filter((r) => r.kind === 'gap-record')).toEqual([
        {
          kind: 'gap-record',
          outageId: recovered.outageId,
          monitor: 'default',
          from: (recovered as { outageStartedAt: Date }).outageStartedAt.toISOString(),
          to: (recovered as { recoveredAt: Date }).recoveredAt.toISOString(),
          result: 'written',
          attempts: 1,
          reason: null,
        },
      ]);

      // Time goes on, the spool is checked again and found empty: the gap is never written again.
      await write(monitor, 'later');
      clock.advance(600_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(calls).toHaveLength(1);
      expect(await gapRows()).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'tries a failed gap record again, backing off, and records each outcome in the ledger',
    async () => {
      let calls = 0;
      const { monitor, events, ledger, logger } = await boot(async (gap) => {
        calls += 1;
        if (calls === 1) throw new Error('permission denied for table audit_gaps');
        // The second call never answers: it times out after hookTimeoutMs.
        if (calls === 2) return new Promise(() => undefined);
        await insertGap(gap);
      });
      await outage(monitor, events);
      await drive(() => calls === 1, 'the first call');
      await drive(() => ledger.some((r) => r.kind === 'gap-record'), 'the first outcome', 10);
      expect(
        logger.lines.some((l) =>
          /Gap record of monitor "default" .* failed on attempt 1: Error: permission denied/.test(l.message),
        ),
      ).toBe(true);

      // 1 s later, the second; it times out after hookTimeoutMs (2 s); 2 s later, the third.
      const failures = () => ledger.filter((r) => r.kind === 'gap-record').length;
      clock.advance(1_000);
      await drive(() => calls === 2, 'the second call', 0);
      clock.advance(2_000);
      await drive(() => failures() === 2, 'the second outcome', 0);
      clock.advance(2_000);
      // The third call's real insert runs with the clock standing still: no timeout can overtake it.
      await drive(async () => (await gapRows()).length === 1, 'the gap row', 0);
      expect(calls).toBe(3);
      expect(
        ledger
          .filter((r) => r.kind === 'gap-record')
          .map((r) => [
            (r as { result: string }).result,
            (r as { attempts: number }).attempts,
            (r as { reason: string | null }).reason,
          ]),
      ).toEqual([
        ['failed', 1, 'Error: permission denied for table audit_gaps'],
        ['failed', 2, 'Error: the gap record was not written within 2000 ms'],
        ['written', 3, null],
      ]);
    },
    TEST_TIMEOUT_MS,
  );
});

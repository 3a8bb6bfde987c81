import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AuditStorageMonitor } from 'nestjs-audit-alert';
import { Pool } from 'pg';
import { DEMO_GAP_TABLE } from './gap-trail.js';

/** Injection token of the connection string of the audit database. */
export const AUDIT_DATABASE_URL = Symbol('AUDIT_DATABASE_URL');

/**
 * The demo's own table, named so that it is never taken for one of yours: with
 * `DATABASE_URL`, the demo creates it in your database (and leaves it there).
 */
export const DEMO_TABLE = 'nestjs_audit_alert_demo';

/** One entry of the audit trail. */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
}

/**
 * Writes the audit trail to Postgres. Every write goes through
 * `AuditStorageMonitor.track()`, which is all the monitor needs to alert.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnApplicationShutdown {
  private readonly pool: Pool;

  constructor(
    @Inject(AUDIT_DATABASE_URL) databaseUrl: string,
    private readonly monitor: AuditStorageMonitor,
  ) {
    // Short timeouts: an audit write that cannot reach its storage must fail fast, not queue up.
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: 2,
      connectionTimeoutMillis: 1_000,
      query_timeout: 2_000,
    });
    // A dropped idle connection is reported here; without a listener it would crash the process.
    // The next write fails, and that failure is what the monitor counts.
    this.pool.on('error', () => undefined);
  }

  /** Creates the demo's table if missing; the application does not start without its audit storage. */
  async onModuleInit(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${DEMO_TABLE} (
         id          bigserial   PRIMARY KEY,
         recorded_at timestamptz NOT NULL DEFAULT now(),
         actor       text        NOT NULL,
         action      text        NOT NULL
       )`,
    );
    // Where the gap records go: one row per interruption of audit logging.
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${DEMO_GAP_TABLE} (
         outage_id        text        PRIMARY KEY,
         monitor          text        NOT NULL,
         interrupted_from timestamptz NOT NULL,
         interrupted_to   timestamptz NOT NULL,
         writes_failed    int         NOT NULL
       )`,
    );
  }

  /** Appends `record` to the audit trail; rejects when the storage is unreachable. */
  async record(record: AuditRecord): Promise<void> {
    await this.monitor.track(() =>
      this.pool.query(`INSERT INTO ${DEMO_TABLE} (actor, action) VALUES ($1, $2)`, [record.actor, record.action]),
    );
  }

  /** Number of records stored so far. */
  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ count: string }>(`SELECT count(*) AS count FROM ${DEMO_TABLE}`);
    return Number(rows[0]?.count ?? 0);
  }

  /** Closes the connections once the application has stopped writing. */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

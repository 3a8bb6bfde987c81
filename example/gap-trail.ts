import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AuditGapRecord } from 'nestjs-audit-alert';
import { Pool } from 'pg';
import { timeline } from './timeline.js';

/**
 * The demo's table of interruptions of audit logging, beside its audit trail:
 * one row per alerted outage, keyed by its `outageId`.
 */
export const DEMO_GAP_TABLE = 'nestjs_audit_alert_demo_gaps';

/**
 * Writes "audit logging was interrupted from … to …" into the audit database
 * (PCI DSS 10.2.1.6): what the module's `gapRecord` option calls once an
 * alerted outage has recovered. Its own pool, as the module's options are
 * built before the application's providers.
 */
@Injectable()
export class GapTrail implements OnApplicationShutdown {
  private readonly pool: Pool;

  constructor(databaseUrl: string) {
    this.pool = new Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 1_000 });
    this.pool.on('error', () => undefined);
  }

  /** The `gapRecord` option: idempotent on the outage, as the module may call it again after a crash. */
  readonly record = async (gap: AuditGapRecord): Promise<void> => {
    await this.pool.query(
      `INSERT INTO ${DEMO_GAP_TABLE} (outage_id, monitor, interrupted_from, interrupted_to, writes_failed)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (outage_id) DO NOTHING`,
      [gap.outageId, gap.monitor, gap.from.toISOString(), gap.to.toISOString(), gap.writesFailed],
    );
    timeline.print('GAP', `audit logging interrupted: row written to ${DEMO_GAP_TABLE}`, {
      outageId: gap.outageId,
      from: gap.from.toISOString(),
      to: gap.to.toISOString(),
      writesFailed: gap.writesFailed,
    });
  };

  /** Rows of the table, oldest first. */
  async rows(): Promise<{ outage_id: string; interrupted_from: Date; interrupted_to: Date }[]> {
    const { rows } = await this.pool.query<{ outage_id: string; interrupted_from: Date; interrupted_to: Date }>(
      `SELECT outage_id, interrupted_from, interrupted_to FROM ${DEMO_GAP_TABLE} ORDER BY interrupted_from`,
    );
    return rows;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

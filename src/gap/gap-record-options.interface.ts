/**
 * What a monitor's `gapRecord` function is given once an alerted outage has
 * ended (and, with a spool, once its records have been replayed): the facts
 * the application writes into its own audit trail, "audit logging was
 * interrupted from `from` to `to`" (PCI DSS 10.2.1.6, NIST SP 800-53 AU-9).
 */
export interface AuditGapRecord {
  /** The outage's id, as its alerts carried it: make the insert idempotent on it (`ON CONFLICT (outage_id) DO NOTHING`). */
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the outage's first failure. */
  readonly from: Date;
  /** Wall-clock time the storage was found working again. */
  readonly to: Date;
  /** Writes that failed during the outage (a lower bound across a restart, as `audit.storage.recovered` says). */
  readonly writesFailed: number;
  /** Records the spool kept during the outage; `null` without a spool. */
  readonly recordsSpooled: number | null;
  /**
   * Records the spool replayed in the drain that followed the recovery (the
   * number `audit.spool.replayed` carries; records left from an earlier
   * outage included); `null` without a spool.
   */
  readonly recordsReplayed: number | null;
  /** Records the spool could not keep: lost; `null` without a spool (only the application knows). */
  readonly recordsLost: number | null;
}

/**
 * Writes the gap into the application's own audit trail. Resolve once it is
 * stored; reject (or throw) when it is not: it is tried again, backing off.
 * It may be called again for a gap it already wrote (a crash between its
 * success and the module's record of it), so insert idempotently on `outageId`.
 */
export type AuditGapRecordWriter = (gap: AuditGapRecord) => Promise<unknown> | unknown;

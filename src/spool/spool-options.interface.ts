/** What the replay function is told of a spooled record besides the record itself. */
export interface AuditSpoolReplayContext {
  /**
   * Unique id of the spooled record: the one given to `track(op, { record, id })`
   * (a whole number as its decimal string: `42` as `'42'`), else one the spool
   * made when it kept the record. A replay may be repeated (see the docs), so
   * make the insert idempotent on it (`ON CONFLICT (id) DO NOTHING`).
   */
  readonly id: string;
  /** Sequence number of the record in the spool, from 1. */
  readonly seq: number;
  /** Wall-clock time the record was spooled. */
  readonly spooledAt: Date;
}

/**
 * An alternate audit log (NIST SP 800-53 AU-5(5)): records whose write fails,
 * or hangs past `writeTimeoutMs`, are appended to a local append-only file and
 * replayed into the storage once it has recovered.
 *
 * ```ts
 * spool: { directory: '/var/lib/billing-api/audit-spool', replay: (record, { id }) => insertAudit(record, id) }
 * ```
 */
export interface AuditSpoolOptions {
  /**
   * Directory of the spool: it must exist and be writable (checked at
   * bootstrap). Each monitor uses a subdirectory named after it, created with
   * owner-only permissions (`0700`, files `0600`).
   */
  directory: string;
  /** Writes one spooled record into the audit storage; it may resolve to anything. */
  replay: (record: unknown, context: AuditSpoolReplayContext) => unknown;
  /**
   * Most records replayed per second, so the replay does not flood a storage
   * that has just come back.
   * @default 100
   */
  replayPerSecond?: number;
  /**
   * Size at which the spool starts a new file.
   * @default 8 MiB
   */
  segmentBytes?: number;
  /**
   * Most bytes the spool holds; a record that would pass it is not kept, and
   * the spool alerts (`audit.spool.unwritable`).
   * @default 256 MiB
   */
  maxBytes?: number;
  /**
   * A secret key (at least 32 bytes) that makes the hash chain an HMAC-SHA256
   * instead of a plain SHA-256: then only a holder of the key can rewrite a
   * line and its chain without `verifyAuditSpool(dir, { key })` seeing it.
   * Keep it out of the spool's directory and its backups.
   */
  hmacKey?: string | Buffer;
}

/** The second argument of `track()`. */
export interface AuditTrackOptions {
  /**
   * The audit record the write carries, as JSON-serialisable data: kept in the
   * spool when the write fails or hangs, and handed to the `replay` function later.
   */
  record: unknown;
  /**
   * A unique id of the record, passed to `replay` for idempotent inserts: a
   * non-empty string, or a whole number (kept in the spool as it is, handed
   * to `replay` as its decimal string). Without one, the operation can read
   * one from its argument (`track((write) => insert({ ...row, id: write.id }), { record: row })`):
   * a random UUID made when first read, the very id the spool keeps the record
   * under, so a hung write that lands after all and its replay carry one id.
   * @default a random UUID, made when the operation reads `write.id` or when the record is spooled
   */
  id?: string | number;
}

/**
 * What `track(op, { record })` hands its operation: the id the record is
 * spooled under, for the write itself to store.
 */
export interface AuditWrite {
  /** The caller's `id`, else a random UUID made on first read and kept with the record if it is spooled. */
  readonly id: string | number;
}

/**
 * The evidence ledger: an append-only, hash-chained JSON Lines record of what
 * the module did (each event sent or held, each delivery's receipt, the
 * configuration at each boot), for an auditor.
 *
 * ```ts
 * ledger: { directory: '/var/lib/ledger-api/audit-ledger', retentionDays: 400 }
 * ```
 */
export interface AuditLedgerOptions {
  /**
   * Where the ledger's files are kept, on local disk, off the audited storage:
   * created owner-only (0700) when missing, its parent must then exist. One
   * process per directory: a second one is refused at start (a lock file).
   */
  directory: string;
  /**
   * How long a day's file is kept after its last line, in days; older files are
   * deleted when the ledger opens and at each new day.
   * @default 400
   */
  retentionDays?: number;
}

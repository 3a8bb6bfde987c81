/**
 * Where a single instance keeps its open outages across restarts and crashes,
 * so that an outage alerted before a restart is continued (same `outageId`)
 * and resolved after it. With `cluster`, Redis keeps them instead.
 *
 * ```ts
 * state: { file: '/var/lib/ledger-api/audit-alert-state.json' }
 * ```
 */
export interface AuditAlertStateOptions {
  /**
   * Path of the state file: read once when the module is created, replaced
   * atomically (a temporary file beside it, fsync'd, then renamed) on each
   * change of state of a monitor, never on the write path. Its directory must
   * exist and be writable, and the path must not be a symbolic link (both
   * checked at bootstrap); in a container it must be on a volume that outlives
   * the container. One process per file. A file that cannot be read or was
   * written by another service is logged and ignored: the module starts clean.
   */
  file: string;
}

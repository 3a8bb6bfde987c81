/**
 * What a capacity check answers: how much of the audit storage is used, as
 * `{ used, total }` in any one unit (bytes, rows, …) or as a ratio from 0 to 1.
 */
export type AuditStorageCapacityReading = { readonly used: number; readonly total: number } | number;

/** What a capacity check is given. */
export interface AuditStorageCapacityCheckContext {
  /**
   * Aborted when the check is abandoned after `timeoutMs`: stop what it holds
   * (a child process, a query), so that a hung check keeps nothing busy.
   */
  readonly signal: AbortSignal;
}

/**
 * Watches how full the audit storage is, and warns before it fills up
 * (NIST SP 800-53 AU-5(1)). The check runs on a timer of its own, never two at
 * once (a check abandoned after `timeoutMs` that still hangs holds the next
 * one back until it settles); a check that throws or answers
 * something else than a reading is logged and changes nothing.
 *
 * ```ts
 * capacity: { check: filesystemCapacityCheck('/var/lib/postgresql'), warnAt: 0.75, criticalAt: 0.9 }
 * ```
 */
export interface AuditStorageCapacityOptions {
  /** Measures the storage; see {@link filesystemCapacityCheck} and {@link postgresCapacityCheck}. */
  check: (
    context: AuditStorageCapacityCheckContext,
  ) => AuditStorageCapacityReading | Promise<AuditStorageCapacityReading>;
  /**
   * Share of the capacity (0 to 1) from which `audit.storage.capacity` warns.
   * @default 0.75
   */
  warnAt?: number;
  /**
   * A second, higher share (above `warnAt`, at most 1) from which the event says `critical`.
   * @default undefined (one level only)
   */
  criticalAt?: number;
  /**
   * How far under a level usage must fall before it counts as back under it,
   * so usage hovering at a level does not announce every crossing.
   * @default 0.05
   */
  hysteresis?: number;
  /**
   * Time between the end of one check and the start of the next.
   * @default 300_000
   */
  intervalMs?: number;
  /**
   * A check still running after this long is abandoned and logged, and its
   * `signal` aborted. No new check starts until it has settled.
   * @default 10_000
   */
  timeoutMs?: number;
}

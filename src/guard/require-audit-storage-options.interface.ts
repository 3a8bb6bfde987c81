import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';

/** A state of the monitor in which a guarded request is refused. */
export type AuditStorageBlockingState = Exclude<AuditStorageState, 'healthy'>;

/** Options of `@RequireAuditStorage()`. */
export interface RequireAuditStorageOptions {
  /**
   * Name of the monitor whose storage the route needs.
   * @default the monitor injected as `AuditStorageMonitor` ('default', else the first)
   */
  monitor?: string;
  /**
   * The states in which the route answers 503: `'alerting'` (the storage is
   * unreachable and has been alerted on); add `'degraded'` (a share of the
   * writes keeps failing), `'failing'` (from the first failure) or
   * `'recovering'` (a success seen, the recovery not yet confirmed).
   * @default ['alerting']
   */
  blockWhen?: readonly AuditStorageBlockingState[];
  /**
   * Seconds sent in `Retry-After` with the 503. Also how long the route
   * refuses before it checks again whether the storage is back: once that
   * long has passed since it began refusing (or since the last check), the
   * next request runs the monitor's probe, if it has one, and, if the route is
   * still shut, goes through alone as a trial whose write tells the monitor.
   * Without this, routes that are the only writers could never see the success
   * that ends the outage.
   * @default 30
   */
  retryAfterSeconds?: number;
  /**
   * Longest time, in milliseconds, a trial request keeps the next one out: a
   * trial whose request is still running then (a handler that hangs), or that
   * never reached its handler (another guard refused it), no longer counts.
   * @default 10_000
   */
  trialTimeoutMs?: number;
  /**
   * Let requests through while the monitor's `spool` (alternate audit log) is
   * keeping records and has kept the record of every write that failed in the
   * outage: AU-5(4) asks for a shutdown only when no alternate audit logging
   * capability exists. One failed write without a kept record (`track(op)`
   * without `{ record }`, `@TrackAuditWrite()`, `recordFailure()`, a record the
   * spool could not write) refuses them until the outage ends. `false` refuses
   * them anyway.
   * @default true
   */
  allowWhileSpooling?: boolean;
}

/** The requirement as the guard reads it, defaults filled in. */
export interface AuditStorageRequirement {
  /** `null`: the default monitor. */
  readonly monitor: string | null;
  readonly blockWhen: ReadonlySet<AuditStorageBlockingState>;
  readonly retryAfterSeconds: number;
  readonly trialTimeoutMs: number;
  readonly allowWhileSpooling: boolean;
}

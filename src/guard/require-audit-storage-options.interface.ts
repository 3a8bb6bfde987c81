import type { AuditStorageState } from '../monitor/audit-storage-status.interface.js';

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
   * The states in which the route answers 503: `'alerting'` (the outage has
   * been alerted on), and `'failing'` too to refuse from the first failure.
   * @default ['alerting']
   */
  blockWhen?: readonly AuditStorageBlockingState[];
  /**
   * Seconds sent in `Retry-After` with the 503.
   * @default 30
   */
  retryAfterSeconds?: number;
}

/** The requirement as the guard reads it, defaults filled in. */
export interface AuditStorageRequirement {
  /** `null`: the default monitor. */
  readonly monitor: string | null;
  readonly blockWhen: ReadonlySet<AuditStorageBlockingState>;
  readonly retryAfterSeconds: number;
}

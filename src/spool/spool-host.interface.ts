import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';
import type { AuditErrorClass } from '../tracker/error-class.util.js';

/** What the spool needs of its monitor. */
export interface SpoolHost {
  readonly name: string;
  readonly serviceName: string;
  /** `false`: hung writes are not looked for. */
  readonly writeTimeoutMs: number | false;
  /** The monitor's state now. */
  state(): AuditStorageState;
  /** What a failed write means, by the monitor's `classify` option. */
  classify(error: unknown): AuditErrorClass;
  /** Counts, in the open outage, a record the spool kept (`true`) or could not keep (`false`). */
  counted(kept: boolean): void;
  /**
   * The spool is empty: a replay has ended with nothing left to replay, or
   * there was nothing to replay. `recordsReplayed`: records replayed since it
   * was last empty. Called again on later checks that find it empty.
   */
  drained(recordsReplayed: number): void;
}

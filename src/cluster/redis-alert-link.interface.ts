import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { ResolvedClusterOptions } from './cluster.options.js';

/** What the coordination of one monitor needs of the Redis link the replicas share. */
export interface RedisAlertLink {
  readonly options: ResolvedClusterOptions;
  /** How long a claim to send an alert holds unless its claimer renews it; past it another replica may send the alert. */
  readonly leaseMs: number;
  /**
   * Runs a script, within `timeoutMs`.
   * @throws whatever kept Redis from answering: the caller then decides alone.
   */
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Logs an event this replica sent on its own because Redis did not answer. */
  sentAlone(type: string, monitor: string, outageId: string, error: unknown): void;
  /** Logs an event left to another replica. */
  leftToOthers(type: string, monitor: string, outageId: string): void;
  /** Logs a repeat this replica did not claim: its outage is acknowledged. */
  acknowledgedRepeat(type: string, monitor: string, outageId: string): void;
  /** Logs an alert this replica sent in place of a claimer that never confirmed it. */
  tookOver(type: string, monitor: string, outageId: string): void;
  /** Logs a claim this replica found taken over by another replica while its own delivery still ran. */
  leaseLost(type: string, monitor: string, outageId: string): void;
  /** Logs a decision that failed in a way no step handled. */
  decisionFailed(monitor: ResolvedMonitorOptions, error: unknown): void;
}

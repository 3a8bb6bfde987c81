import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertEvent, AuditOutageEvent } from '../events/audit-alert-event.interface.js';
import type { OutageCounts } from '../events/storage-recovered-event.js';
import type { AuditStorageState, AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import type { OutageSnapshot } from '../tracker/outage-snapshot.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';

/** A change of a monitor's outage, as its sink gets it: taken at the change, never read back later. */
export interface OutageTransition {
  readonly before: AuditStorageState;
  readonly after: AuditStorageState;
  /** The event the change raised: an alert, a degraded warning, a recovery; `null` for a change of state alone. */
  readonly event: AuditOutageEvent | null;
  /** What the monitor knows as of the change. */
  readonly status: AuditStorageStatus;
  /**
   * When the change ends an outage (`after` is `'healthy'`), what it counted:
   * for a sink that announces a recovery the monitor did not raise (a
   * replica's share of an outage another replica alerted on). `null` otherwise.
   */
  readonly ended: OutageCounts | null;
  /**
   * The open outage as it is when called, for a store to keep; `null` when
   * none is open. A store calls it once the events raised so far are
   * delivered, so that what it keeps never holds an alert not yet sent.
   */
  snapshot(): OutageSnapshot | null;
}

/** The monitor's own open outage, as a sink acknowledging an outage sees it. */
export interface OwnOutage {
  /** The monitor's id for it; `null` while healthy. */
  readonly id: string | null;
  /** Acknowledges it in the monitor's state machine. */
  acknowledge(by: string, note: string | null): OutageAcknowledgeResult;
  /** It as it is when called, for a store to keep; `null` when none is open. */
  snapshot(): OutageSnapshot | null;
}

/**
 * Where a monitor hands every transition of its outage, on one path: the sink
 * decides what is sent and what is kept. Local: dispatch, keep the state file,
 * resolve what an earlier process left open. Cluster: claim in Redis, then
 * dispatch. The monitor never knows which one it has.
 */
export interface AlertSink {
  /**
   * `true` while a success while healthy means something to the sink (an
   * outage of the cluster or of an earlier process to resolve). Read on every
   * success while healthy, hence a field.
   */
  readonly awaitsSuccess: boolean;
  /** Takes a transition: an outage opens, an alert is due, an outage ends. */
  transition(change: OutageTransition): void;
  /**
   * Sends an event of the monitor that is no change of its outage: records rejected, the spool's.
   * @returns A promise, never rejected, settled once the event's deliveries have (at once for an event a silence holds).
   */
  send(event: AuditAlertEvent): Promise<void>;
  /** A success while healthy, with {@link awaitsSuccess} set. */
  succeededWhileHealthy(): void;
  /**
   * The application has started: what an earlier process left open may now be resolved.
   * @param awake Called when the sink comes to await a success later, on its own (Redis
   * answering that the cluster has an alerted outage to resolve), so that the monitor,
   * which skips idle successes, hands it the next one.
   */
  start(awake: () => void): void;
  /**
   * Acknowledges the outage whose events carry `outageId`: in the monitor's
   * state machine when it is its own, and where the sink keeps outages (the
   * state file; Redis, for every replica).
   * @throws whatever kept the sink from storing it (Redis unreachable): then nothing is acknowledged.
   */
  acknowledge(outageId: string, by: string, note: string | null, own: OwnOutage): Promise<OutageAcknowledgeResult>;
  /** Whether the sink knows the outage `outageId`, open or ended lately (Redis, under `cluster`). */
  knows(outageId: string): Promise<boolean>;
  /** Stops its timers; called at shutdown. */
  close(): void;
}

/** Makes the sink of each monitor; provided by the module, local or coordinated by Redis. */
export type AlertSinkFactory = (monitor: ResolvedMonitorOptions) => AlertSink;

import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type {
  AuditOutageEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import type { AuditStorageState } from '../monitor/audit-storage-status.interface.js';
import type { FailureTracker } from '../monitor/failure-tracker.js';
import type { RedisAlertCoordinator } from './redis-alert.coordinator.js';
import { RECOVER_SCRIPT, RESOLVE_AND_CLAIM_SCRIPT } from './redis-alert.scripts.js';

/**
 * What a monitor consults, in place of sending, when alerts are coordinated
 * across replicas. Called on transitions only: an outage opens, an alert is
 * due, an outage ends.
 */
export interface MonitorAlertCoordination {
  /**
   * Takes over the event (if any) of a transition: it is sent later, once
   * the cluster has decided, or not at all when another replica sends it.
   */
  settle(
    before: AuditStorageState,
    tracker: Pick<FailureTracker, 'state' | 'status'>,
    event: AuditOutageEvent | null,
  ): void;
}

/** This replica's view of one outage of the monitor, and the cluster's id for it. */
interface ReplicaOutage {
  /** The cluster's id once adopted; until then the one the monitor itself gave the outage. */
  clusterId: string;
  /** Whether this replica has sent an unreachable alert of this outage. */
  sent: boolean;
}

/** An open outage the cluster never closes is forgotten after this long without a transition, at least. */
const MIN_OPEN_TTL_MS = 60_000;
/** Whether the cluster alerted for an outage, and announced its end, is kept this long at least. */
const MIN_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;

/**
 * Coordinates the alerts of one monitor with the same monitor of the other
 * replicas. Every decision is queued behind the previous one, so events leave
 * in the order the monitor raised them (a recovery never overtakes its alert).
 */
export class MonitorAlertCoordinator implements MonitorAlertCoordination {
  private readonly openKey: string;
  private readonly recordPrefix: string;
  private readonly cooldownMs: string;
  private readonly openTtlMs: string;
  private readonly recordTtlMs: string;
  private outage: ReplicaOutage | null = null;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly monitor: ResolvedMonitorOptions,
    private readonly redis: RedisAlertCoordinator,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly clock: Pick<AuditAlertClock, 'wallNow'>,
  ) {
    // Encoded so that a ':' in a name cannot make two monitors share keys.
    const base = `${redis.options.keyPrefix}:${encodeURIComponent(monitor.serviceName)}:${encodeURIComponent(monitor.name)}`;
    this.openKey = `${base}:outage`;
    this.recordPrefix = `${base}:outage:`;
    this.cooldownMs = String(monitor.cooldownMs);
    const openTtl = Math.max(MIN_OPEN_TTL_MS, 2 * (monitor.thresholdMs + monitor.cooldownMs));
    this.openTtlMs = String(openTtl);
    this.recordTtlMs = String(Math.max(MIN_RECORD_TTL_MS, 2 * openTtl));
  }

  settle(
    before: AuditStorageState,
    tracker: Pick<FailureTracker, 'state' | 'status'>,
    event: AuditOutageEvent | null,
  ): void {
    const after = tracker.state;
    if (before === 'healthy' && after !== 'healthy') {
      const opened: ReplicaOutage = {
        clusterId: event?.outageId ?? (tracker.status().outageId as string),
        sent: false,
      };
      this.outage = opened;
      // With an alert already due, its claim opens the outage in the same round trip.
      if (event === null) this.enqueue(() => this.open(opened));
    }
    const outage = this.outage;
    if (outage === null) {
      if (event) this.dispatcher.dispatch(event);
      return;
    }
    if (event?.type === AuditAlertEvents.StorageUnreachable) {
      this.enqueue(() => this.alert(outage, event));
    } else if (after === 'healthy') {
      this.outage = null;
      // An outage that never reached the threshold here ends silently, as alone.
      if (before === 'alerting') {
        const recovery = event?.type === AuditAlertEvents.StorageRecovered ? event : null;
        this.enqueue(() => this.recover(outage, recovery));
      }
    }
  }

  private enqueue(step: () => Promise<void>): void {
    // Steps fail open on their own; this only keeps one broken step from stopping the ones after it.
    const run = this.tail.then(step).catch((error: unknown) => this.redis.decisionFailed(this.monitor, error));
    this.tail = run;
    this.dispatcher.track(run);
  }

  /** Joins the cluster's open outage, or opens it under this replica's id. */
  private async open(outage: ReplicaOutage): Promise<void> {
    try {
      const [id] = await this.resolve(outage, false, 0);
      outage.clusterId = id;
    } catch {
      // Logged by the coordinator; the alert claim tries again.
    }
  }

  private async alert(outage: ReplicaOutage, event: StorageUnreachableEvent): Promise<void> {
    let decision: [string, number];
    try {
      decision = await this.resolve(outage, true, event.occurrence);
    } catch (error) {
      this.sendAlone(outage, { ...event, outageId: outage.clusterId }, error);
      return;
    }
    const [id, occurrence] = decision;
    outage.clusterId = id;
    if (occurrence === 0) {
      this.redis.leftToOthers(event.type, event.monitor, id);
      return;
    }
    outage.sent = true;
    this.dispatcher.dispatch({ ...event, outageId: id, occurrence });
  }

  /** Ends the cluster's outage; announces it when this replica is the one to. */
  private async recover(outage: ReplicaOutage, event: StorageRecoveredEvent | null): Promise<void> {
    let announce: boolean;
    try {
      const reply = await this.redis.eval(
        RECOVER_SCRIPT,
        [this.openKey, this.recordPrefix + outage.clusterId],
        [outage.clusterId, outage.sent ? '1' : '0', this.redis.options.replicaId, this.recordTtlMs],
      );
      announce = reply === 1;
    } catch (error) {
      if (event) this.sendAlone(outage, { ...event, outageId: outage.clusterId }, error);
      return;
    }
    if (!event) return;
    if (announce) this.dispatcher.dispatch({ ...event, outageId: outage.clusterId });
    else this.redis.leftToOthers(event.type, event.monitor, outage.clusterId);
  }

  private async resolve(outage: ReplicaOutage, claim: boolean, occurrence: number): Promise<[string, number]> {
    const reply = await this.redis.eval(
      RESOLVE_AND_CLAIM_SCRIPT,
      [this.openKey],
      [
        this.recordPrefix,
        outage.clusterId,
        randomUUID(),
        outage.sent ? '0' : '1',
        this.openTtlMs,
        claim ? '1' : '0',
        this.cooldownMs,
        this.redis.options.replicaId,
        String(occurrence),
        this.recordTtlMs,
        String(this.clock.wallNow()),
      ],
    );
    if (!Array.isArray(reply) || typeof reply[0] !== 'string' || typeof reply[1] !== 'number') {
      throw new Error(`unexpected reply from Redis: ${typeof reply}`);
    }
    return [reply[0], reply[1]];
  }

  /** Fails open: what a replica on its own would send, with the id it last agreed on. */
  private sendAlone(outage: ReplicaOutage, event: AuditOutageEvent, error: unknown): void {
    if (event.type === AuditAlertEvents.StorageUnreachable) outage.sent = true;
    this.redis.sentAlone(event.type, event.monitor, event.outageId, error);
    this.dispatcher.dispatch(event);
  }
}

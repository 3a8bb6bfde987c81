import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent, StorageUnreachableEvent } from '../events/audit-alert-event.interface.js';
import type { AlertSink, OutageTransition, OwnOutage } from '../sink/alert-sink.interface.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import { ClusterOutageAcknowledgements } from './cluster-outage-acknowledgements.js';
import { openOutageTtlMs } from '../tracker/open-outage-ttl.util.js';
import { EventClaimCoordinator } from './event-claim.coordinator.js';
import { monitorKeyBase } from './monitor-keys.util.js';
import { keepLeaseAlive } from './alert-lease.util.js';
import { OutageRecoveryCoordinator } from './outage-recovery.coordinator.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';
import { CONFIRM_SCRIPT, OPEN_OUTAGE_SCRIPT, RENEW_SCRIPT, RESOLVE_AND_CLAIM_SCRIPT } from './redis-alert.scripts.js';

/** This replica's view of one outage of the monitor, and the cluster's id for it. */
interface ReplicaOutage {
  /** The cluster's id once adopted; until then the one the monitor itself gave the outage. */
  clusterId: string;
  /** Whether this replica has sent an unreachable alert of this outage. */
  sent: boolean;
  /** Wall-clock time of this replica's first failure of the outage. */
  readonly firstFailureAt: number;
  /** Waits for the lease of another replica's unconfirmed claim to run out. */
  leaseTimer: AuditAlertTimer | null;
}

/** Whether the cluster alerted for an outage, and announced its end, is kept this long at least. */
const MIN_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;

/** How RESOLVE_AND_CLAIM_SCRIPT reads its claim argument. */
const CLAIM_MODES = { none: '0', claim: '1', takeOver: '2' } as const;

/**
 * Coordinates the alerts of one monitor with the same monitor of the other
 * replicas. Every decision is queued behind the previous one, so events leave
 * in the order the monitor raised them (a recovery never overtakes its alert).
 */
export class MonitorAlertCoordinator implements AlertSink {
  /**
   * `true` while the cluster has an alerted outage that this replica, healthy,
   * resolves on its next success.
   */
  awaitsSuccess = false;

  private readonly keys: readonly [string, string];
  private readonly acknowledgements: ClusterOutageAcknowledgements;
  private readonly cooldownMs: string;
  private readonly openTtlMs: string;
  private readonly recordTtlMs: string;
  private outage: ReplicaOutage | null = null;
  private tail: Promise<void> = Promise.resolve();
  /** Stops the lease renewals of the claims whose delivery runs. */
  private readonly renewals = new Set<() => void>();
  private closed = false;
  private awake: () => void = () => undefined;
  /** Claims the monitor's other events: degraded warnings, records rejected, the spool's. */
  private readonly events: EventClaimCoordinator;
  /** Ends the cluster's outages and announces their recoveries. */
  private readonly recoveries: OutageRecoveryCoordinator;

  constructor(
    private readonly monitor: ResolvedMonitorOptions,
    private readonly redis: RedisAlertLink,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly clock: AuditAlertClock,
  ) {
    const base = monitorKeyBase(redis.options.keyPrefix, monitor.serviceName, monitor.name);
    this.keys = [`${base}:outage`, `${base}:outages`];
    this.cooldownMs = String(monitor.cooldownMs);
    const openTtl = openOutageTtlMs(monitor);
    this.openTtlMs = String(openTtl);
    this.recordTtlMs = String(Math.max(MIN_RECORD_TTL_MS, 2 * openTtl));
    this.events = new EventClaimCoordinator(monitor, redis, dispatcher, clock);
    this.acknowledgements = new ClusterOutageAcknowledgements(redis, base, this.recordTtlMs, clock);
    this.recoveries = new OutageRecoveryCoordinator(
      monitor,
      redis,
      dispatcher,
      clock,
      [...this.keys, `${base}:pruned`],
      this.recordTtlMs,
    );
  }

  transition({ before, after, event, status, ended }: OutageTransition): void {
    if (before === 'healthy' && after !== 'healthy') {
      const opened: ReplicaOutage = {
        clusterId: event?.outageId ?? (status.outageId as string),
        sent: false,
        firstFailureAt: (status.firstFailureAt as Date).getTime(),
        leaseTimer: null,
      };
      this.outage = opened;
      // The outage this replica joins now is the one a pending resolution was about.
      this.awaitsSuccess = false;
      // With an alert already due, its claim opens the outage in the same round trip.
      if (event === null) this.enqueue(() => this.open(opened, status.consecutiveFailures));
    }
    const outage = this.outage;
    if (outage === null) {
      if (event) this.dispatcher.dispatch(event);
      return;
    }
    if (event?.type === AuditAlertEvents.StorageUnreachable) {
      this.enqueue(() => this.alert(outage, event));
    } else if (event?.type === AuditAlertEvents.StorageDegraded) {
      // Once per cluster per window: the outage is joined, then the warning claimed; its episode's id is the cluster's.
      this.enqueue(async () => {
        await this.open(outage, event.failures);
        const { sent, outageId } = await this.events.claim({ ...event, outageId: outage.clusterId });
        outage.clusterId = outageId;
        if (sent) outage.sent = true;
      });
    } else if (after === 'healthy') {
      this.outage = null;
      this.stopWaiting(outage);
      const recovery = event?.type === AuditAlertEvents.StorageRecovered ? event : null;
      // Even an outage that never reached the threshold here ends the cluster's: another replica may have alerted.
      this.enqueue(() => this.recoveries.recover(outage, recovery ?? ended));
    }
  }

  /** Records rejected and the spool's events: once per cluster, claimed like the outage's. */
  send(event: AuditAlertEvent): Promise<void> {
    return this.events.send(event);
  }

  start(awake: () => void): void {
    // The Redis link asks the cluster about open outages for every monitor as it connects.
    this.awake = awake;
  }

  succeededWhileHealthy(): void {
    this.awaitsSuccess = false;
    this.enqueue(() => this.recoveries.recover(null, null));
  }

  /**
   * Asks the cluster whether an alerted outage is open, so that this replica,
   * healthy, resolves it on its next success. Run when the application starts
   * and whenever Redis answers again after it could not be reached.
   */
  checkOpenOutage(): Promise<void> {
    return this.enqueue(async () => {
      if (this.outage !== null || this.closed) return;
      try {
        const reply = await this.redis.eval(OPEN_OUTAGE_SCRIPT, this.keys, []);
        this.awaitsSuccess = Array.isArray(reply) && reply.length > 0 && this.outage === null;
        if (this.awaitsSuccess) this.awake();
      } catch {
        // Logged by the coordinator; checked again when Redis answers.
      }
    });
  }

  /**
   * Acknowledges the cluster's outage `outageId` in Redis, for every replica
   * (each checks it before claiming a repeat), and in this replica's own
   * state machine when the outage is the one it has open.
   */
  async acknowledge(
    outageId: string,
    by: string,
    note: string | null,
    own: OwnOutage,
  ): Promise<OutageAcknowledgeResult> {
    const stored = await this.acknowledgements.acknowledge(outageId, by, note);
    if (stored.result !== 'unknown' && this.outage?.clusterId === outageId && own.id !== null)
      own.acknowledge(by, note);
    return stored;
  }

  knows(outageId: string): Promise<boolean> {
    return this.acknowledgements.knows(outageId);
  }

  close(): void {
    this.closed = true;
    if (this.outage) this.stopWaiting(this.outage);
    for (const stop of this.renewals) stop();
    this.renewals.clear();
    this.recoveries.close();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    // Steps fail open on their own; this only keeps one broken step from stopping the ones after it.
    const run = this.tail.then(step).catch((error: unknown) => this.redis.decisionFailed(this.monitor, error));
    this.tail = run;
    this.dispatcher.track(run);
    return run;
  }

  /** Joins the cluster's open outage, or opens it under this replica's id. */
  private async open(outage: ReplicaOutage, failures: number): Promise<void> {
    try {
      const [id] = await this.resolve(outage, 'none', 0, failures);
      outage.clusterId = id;
    } catch {
      // Logged by the coordinator; the alert claim tries again.
    }
  }

  /**
   * Claims the alert of the current window and sends it when granted. With
   * `takeOver`, only the window another replica claimed and never confirmed
   * is claimed: a replica waiting for a lease opens no new window.
   */
  private async alert(outage: ReplicaOutage, event: StorageUnreachableEvent, takeOver = false): Promise<void> {
    if (this.outage !== outage) return; // ended while this waited for a lease
    let decision: [string, number, number, boolean];
    try {
      decision = await this.resolve(
        outage,
        takeOver ? 'takeOver' : 'claim',
        event.occurrence,
        event.consecutiveFailures,
      );
    } catch (error) {
      this.sendAlone(outage, { ...event, outageId: outage.clusterId }, error);
      return;
    }
    const [id, occurrence, leaseUntil, held] = decision;
    if (held) {
      this.redis.acknowledgedRepeat(event.type, event.monitor, id);
      return;
    }
    outage.clusterId = id;
    if (occurrence === 0) {
      if (!takeOver) this.redis.leftToOthers(event.type, event.monitor, id);
      if (leaseUntil > 0) this.waitForLease(outage, event, leaseUntil);
      return;
    }
    if (takeOver) this.redis.tookOver(event.type, event.monitor, id);
    outage.sent = true;
    const delivered = this.dispatcher.dispatch({ ...event, outageId: id, occurrence });
    const stopRenewing = this.renewWhileDelivering(event.type, id, occurrence);
    // Confirmed off the queue: a slow channel must not hold back this monitor's next decision.
    this.dispatcher.track(
      delivered.then(() => {
        stopRenewing();
        return this.confirm(id, occurrence);
      }),
    );
  }

  /**
   * Keeps this replica's claim alive while its delivery runs, so that the
   * lease measures how long a dead or hung claimer holds the others back,
   * not how long a delivery may take.
   * @returns Stops the renewals, once the delivery has settled.
   */
  private renewWhileDelivering(type: string, id: string, occurrence: number): () => void {
    let lost = false;
    const stop = keepLeaseAlive(this.clock, this.redis.leaseMs, async () => {
      const reply = await this.redis.eval(RENEW_SCRIPT, this.keys, [
        id,
        String(occurrence),
        String(this.clock.wallNow()),
        this.redis.options.replicaId,
        String(this.redis.leaseMs),
      ]);
      if (reply !== 1 && !lost) {
        lost = true;
        this.redis.leaseLost(type, this.monitor.name, id);
      }
      return reply === 1;
    });
    const stopOnce = (): void => {
      stop();
      this.renewals.delete(stopOnce);
    };
    this.renewals.add(stopOnce);
    return stopOnce;
  }

  /**
   * Another replica claimed this window and has not confirmed its delivery:
   * once its lease runs out, this replica claims again, and sends the alert
   * itself if the claimer never confirmed (it died, hung, or lost Redis).
   */
  private waitForLease(outage: ReplicaOutage, event: StorageUnreachableEvent, leaseUntil: number): void {
    if (this.closed || outage.leaseTimer !== null) return;
    const delayMs = Math.max(1, leaseUntil - this.clock.wallNow() + 1);
    outage.leaseTimer = this.clock.setTimer(() => {
      outage.leaseTimer = null;
      this.enqueue(() => this.alert(outage, event, true));
    }, delayMs);
  }

  private stopWaiting(outage: ReplicaOutage): void {
    if (outage.leaseTimer === null) return;
    this.clock.clearTimer(outage.leaseTimer);
    outage.leaseTimer = null;
  }

  private async confirm(id: string, occurrence: number): Promise<void> {
    try {
      await this.redis.eval(CONFIRM_SCRIPT, this.keys, [
        id,
        String(occurrence),
        String(this.clock.wallNow()),
        this.redis.options.replicaId,
      ]);
    } catch {
      // Logged by the coordinator: another replica may send this alert again once the lease runs out.
    }
  }

  private async resolve(
    outage: ReplicaOutage,
    claim: 'none' | 'claim' | 'takeOver',
    occurrence: number,
    failures: number,
  ): Promise<[string, number, number, boolean]> {
    const keys = [...this.keys, this.acknowledgements.keyOf(outage.clusterId)];
    const reply = await this.redis.eval(RESOLVE_AND_CLAIM_SCRIPT, keys, [
      outage.clusterId,
      randomUUID(),
      outage.sent ? '0' : '1',
      this.openTtlMs,
      CLAIM_MODES[claim],
      this.cooldownMs,
      this.redis.options.replicaId,
      String(occurrence),
      this.recordTtlMs,
      String(this.clock.wallNow()),
      String(outage.firstFailureAt),
      String(failures),
      String(this.redis.leaseMs),
    ]);
    if (
      !Array.isArray(reply) ||
      typeof reply[0] !== 'string' ||
      typeof reply[1] !== 'number' ||
      typeof reply[2] !== 'number'
    ) {
      throw new Error(`unexpected reply from Redis: ${typeof reply}`);
    }
    return [reply[0], reply[1], reply[2], reply[3] === 1];
  }

  /** Fails open: what a replica on its own would send, with the id it last agreed on. */
  private sendAlone(outage: ReplicaOutage, event: StorageUnreachableEvent, error: unknown): void {
    outage.sent = true;
    this.redis.sentAlone(event.type, event.monitor, event.outageId, error);
    this.dispatcher.dispatch(event);
  }
}

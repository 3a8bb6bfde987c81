import { randomUUID } from 'node:crypto';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type {
  AuditAlertEvent,
  AuditOutageEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import { type OutageCounts, recoveryFiguresOf, storageRecoveredEvent } from '../events/storage-recovered-event.js';
import type { AlertSink, OutageTransition, OwnOutage } from '../sink/alert-sink.interface.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import { ClusterOutageAcknowledgements } from './cluster-outage-acknowledgements.js';
import { openOutageTtlMs } from '../tracker/open-outage-ttl.util.js';
import { EventClaimCoordinator } from './event-claim.coordinator.js';
import { monitorKeyBase } from './monitor-keys.util.js';
import { keepLeaseAlive } from './alert-lease.util.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';
import {
  ALERT_SETTLED_SCRIPT,
  CONFIRM_SCRIPT,
  OPEN_OUTAGE_SCRIPT,
  RECOVER_SCRIPT,
  RENEW_SCRIPT,
  RESOLVE_AND_CLAIM_SCRIPT,
} from './redis-alert.scripts.js';

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

/** How often, at most, a recovery prunes the records of outages past their TTL (a scan of every record). */
const PRUNE_EVERY_MS = 60 * 60 * 1_000;

/** How often a recovery waiting for its outage's last alert to be confirmed asks Redis again. */
const SETTLED_POLL_MS = 100;

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
  private readonly recoverKeys: readonly [string, string, string];
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

  constructor(
    private readonly monitor: ResolvedMonitorOptions,
    private readonly redis: RedisAlertLink,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly clock: AuditAlertClock,
  ) {
    const base = monitorKeyBase(redis.options.keyPrefix, monitor.serviceName, monitor.name);
    this.keys = [`${base}:outage`, `${base}:outages`];
    this.recoverKeys = [...this.keys, `${base}:pruned`];
    this.cooldownMs = String(monitor.cooldownMs);
    const openTtl = openOutageTtlMs(monitor);
    this.openTtlMs = String(openTtl);
    this.recordTtlMs = String(Math.max(MIN_RECORD_TTL_MS, 2 * openTtl));
    this.events = new EventClaimCoordinator(monitor, redis, dispatcher, clock);
    this.acknowledgements = new ClusterOutageAcknowledgements(redis, base, this.recordTtlMs, clock);
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
      this.enqueue(() => this.recover(outage, recovery ?? ended));
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
    this.enqueue(() => this.recover(null, null));
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
    if (await this.acknowledgements.holdsRepeat(outage.clusterId)) {
      this.redis.acknowledgedRepeat(event.type, event.monitor, outage.clusterId);
      return;
    }
    let decision: [string, number, number];
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
    const [id, occurrence, leaseUntil] = decision;
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

  /**
   * Ends this replica's outage (or, with `null`, only the cluster's) and
   * announces each recovery this replica is the one to announce.
   * @param seen What this replica saw of its outage: its own recovery event
   * when it raised one, else what the outage counted here.
   */
  private async recover(
    outage: ReplicaOutage | null,
    seen: StorageRecoveredEvent | OutageCounts | null,
  ): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.redis.eval(RECOVER_SCRIPT, this.recoverKeys, [
        outage?.clusterId ?? '',
        outage?.sent ? '1' : '0',
        this.redis.options.replicaId,
        this.recordTtlMs,
        String(this.clock.wallNow()),
        String(PRUNE_EVERY_MS),
      ]);
    } catch (error) {
      const own = outage && isRecoveredEvent(seen) ? this.recovery(outage.clusterId, seen, 0, 0) : null;
      if (outage && own) this.sendAlone(outage, own, error);
      // A healthy replica learns again whether to resolve once Redis answers.
      return;
    }
    const [announce, first, failures, otherId, otherFirst, otherFailures, until, otherUntil] = Array.isArray(reply)
      ? reply
      : [];
    if (outage) {
      const own = this.recovery(outage.clusterId, seen, first, failures);
      if (announce === 1) this.announceAfterAlert(own, outage.clusterId, until);
      else if (own) this.redis.leftToOthers(AuditAlertEvents.StorageRecovered, this.monitor.name, outage.clusterId);
    }
    if (typeof otherId === 'string' && otherId !== '') {
      // An outage this replica never had: the cluster's record is all it knows of it.
      this.announceAfterAlert(this.recovery(otherId, null, otherFirst, otherFailures), otherId, otherUntil);
    }
  }

  /**
   * Announces a recovery, once the last alert of its outage is settled when
   * another replica still holds an unconfirmed claim on it (until `until`):
   * a resolve overtaking its trigger at PagerDuty would leave the incident
   * open. Off the queue, so the wait (a lease at most) holds nothing else back.
   */
  private announceAfterAlert(event: StorageRecoveredEvent | null, outageId: string, until: unknown): void {
    if (event === null) return;
    if (typeof until !== 'number' || until <= 0) {
      this.announce(event);
      return;
    }
    this.dispatcher.track(this.alertSettled(outageId, until).then(() => this.announce(event)));
  }

  /** Resolves once the last alert of `outageId` is confirmed or its lease (ending at `until`) has run out. */
  private alertSettled(outageId: string, until: number): Promise<void> {
    return new Promise((resolve) => {
      const check = async (): Promise<void> => {
        let leaseEnd: number;
        try {
          const reply = await this.redis.eval(ALERT_SETTLED_SCRIPT, this.keys, [
            outageId,
            String(this.clock.wallNow()),
          ]);
          leaseEnd = typeof reply === 'number' ? reply : 0;
        } catch {
          // Logged by the coordinator: without Redis, the lease is what is known.
          leaseEnd = until > this.clock.wallNow() ? until : 0;
        }
        if (leaseEnd === 0 || this.closed) resolve();
        else
          this.clock.setTimer(
            () => void check(),
            Math.max(1, Math.min(SETTLED_POLL_MS, leaseEnd - this.clock.wallNow() + 1)),
          );
      };
      void check();
    });
  }

  private announce(event: StorageRecoveredEvent | null): void {
    if (event) this.dispatcher.dispatch(event);
  }

  /**
   * The recovery of `outageId` as this replica announces it, through the one
   * builder: from its own recovery event when it raised one, else from the
   * cluster's record of the outage (`first`, `failures`) and what this
   * replica counted of it (`null` for an outage it never had). The failed
   * writes are the most one replica is known to have recorded: its own count,
   * or what the record holds (the most any replica reported with a claim).
   * The spool's counts are this replica's own.
   */
  private recovery(
    outageId: string,
    seen: StorageRecoveredEvent | OutageCounts | null,
    first: unknown,
    failures: unknown,
  ): StorageRecoveredEvent | null {
    if (!this.monitor.notifyRecovery) return null;
    const reported = typeof failures === 'number' ? failures : 0;
    if (isRecoveredEvent(seen)) {
      const { outage, spool } = recoveryFiguresOf(seen);
      return storageRecoveredEvent(
        { ...outage, outageId, writesFailed: Math.max(outage.writesFailed, reported) },
        spool,
      );
    }
    const now = this.clock.wallNow();
    const startedAt = typeof first === 'number' && first > 0 ? first : now;
    return storageRecoveredEvent(
      {
        outageId,
        monitor: this.monitor.name,
        serviceName: this.monitor.serviceName,
        startedAt,
        recoveredAt: now,
        durationMs: now - startedAt,
        writesFailed: Math.max(seen?.writesFailed ?? 0, reported),
      },
      seen?.spool ?? null,
    );
  }

  private async resolve(
    outage: ReplicaOutage,
    claim: 'none' | 'claim' | 'takeOver',
    occurrence: number,
    failures: number,
  ): Promise<[string, number, number]> {
    const reply = await this.redis.eval(RESOLVE_AND_CLAIM_SCRIPT, this.keys, [
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
    return [reply[0], reply[1], reply[2]];
  }

  /** Fails open: what a replica on its own would send, with the id it last agreed on. */
  private sendAlone(outage: ReplicaOutage, event: AuditOutageEvent, error: unknown): void {
    if (event.type === AuditAlertEvents.StorageUnreachable) outage.sent = true;
    this.redis.sentAlone(event.type, event.monitor, event.outageId, error);
    this.dispatcher.dispatch(event);
  }
}

function isRecoveredEvent(seen: StorageRecoveredEvent | OutageCounts | null): seen is StorageRecoveredEvent {
  return seen !== null && 'type' in seen;
}

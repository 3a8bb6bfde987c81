import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { StorageRecoveredEvent } from '../events/audit-alert-event.interface.js';
import { type OutageCounts, recoveryFiguresOf, storageRecoveredEvent } from '../events/storage-recovered-event.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';
import { ALERT_SETTLED_SCRIPT, RECOVER_SCRIPT } from './redis-alert.scripts.js';

/** How often, at most, a recovery prunes the records of outages past their TTL (a scan of every record). */
const PRUNE_EVERY_MS = 60 * 60 * 1_000;

/** How often a recovery waiting for its outage's last alert to be confirmed asks Redis again. */
const SETTLED_POLL_MS = 100;

/**
 * Ends the outages of one monitor in the cluster's records and announces each
 * recovery once per cluster: the replica whose success ends an alerted outage
 * announces it, and never ahead of an alert of it another replica still
 * delivers. The monitor's `MonitorAlertCoordinator` runs each `recover()`
 * in its queue, after the alerts raised before it.
 */
export class OutageRecoveryCoordinator {
  private readonly outageKeys: readonly [string, string];
  private closed = false;

  /**
   * @param keys `<base>:outage`, `<base>:outages` and `<base>:pruned` (see redis-alert.scripts.ts).
   * @param recordTtlMs How long an ended outage's record is kept.
   */
  constructor(
    private readonly monitor: ResolvedMonitorOptions,
    private readonly redis: RedisAlertLink,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly clock: AuditAlertClock,
    private readonly keys: readonly [string, string, string],
    private readonly recordTtlMs: string,
  ) {
    this.outageKeys = [keys[0], keys[1]];
  }

  /**
   * Ends this replica's outage (or, with `null`, only the cluster's) and
   * announces each recovery this replica is the one to announce.
   * @param outage The cluster's id of the outage this replica had, and whether it sent an unreachable alert of it.
   * @param seen What this replica saw of its outage: its own recovery event
   * when it raised one, else what the outage counted here.
   */
  async recover(
    outage: { readonly clusterId: string; readonly sent: boolean } | null,
    seen: StorageRecoveredEvent | OutageCounts | null,
  ): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.redis.eval(RECOVER_SCRIPT, this.keys, [
        outage?.clusterId ?? '',
        outage?.sent ? '1' : '0',
        this.redis.options.replicaId,
        this.recordTtlMs,
        String(this.clock.wallNow()),
        String(PRUNE_EVERY_MS),
      ]);
    } catch (error) {
      const own = outage && isRecoveredEvent(seen) ? this.recovery(outage.clusterId, seen, 0, 0) : null;
      if (own) {
        // Fails open: what a replica on its own would send, with the id it last agreed on.
        this.redis.sentAlone(own.type, own.monitor, own.outageId, error);
        this.dispatcher.dispatch(own);
      }
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

  /** Stops waiting for alerts to settle: a recovery still waiting goes out at its next check. */
  close(): void {
    this.closed = true;
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
          const reply = await this.redis.eval(ALERT_SETTLED_SCRIPT, this.outageKeys, [
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
}

function isRecoveredEvent(seen: StorageRecoveredEvent | OutageCounts | null): seen is StorageRecoveredEvent {
  return seen !== null && 'type' in seen;
}

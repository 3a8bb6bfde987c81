import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import { episodeStepOf } from '../events/audit-alert-event-kinds.js';
import type {
  AuditAlertEvent,
  RecordsRejectedEvent,
  SpoolQuarantinedEvent,
  SpoolReplayedEvent,
  SpoolUnwritableEvent,
  StorageCapacityEvent,
  StorageDegradedEvent,
} from '../events/audit-alert-event.interface.js';
import { CLAIM_EVENT_SCRIPT } from './event-claim.script.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';
import { monitorKeyBase } from './monitor-keys.util.js';

/** The events claimed through {@link CLAIM_EVENT_SCRIPT}: every event of a monitor but an outage's alert and recovery. */
type ClaimedEvent =
  | StorageDegradedEvent
  | StorageCapacityEvent
  | RecordsRejectedEvent
  | SpoolUnwritableEvent
  | SpoolReplayedEvent
  | SpoolQuarantinedEvent;

/** An episode's record outlives its last claim at least this long, and at least three windows. */
const MIN_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;

const CLAIMED_TYPES: ReadonlySet<AuditAlertEvent['type']> = new Set<ClaimedEvent['type']>([
  AuditAlertEvents.StorageDegraded,
  AuditAlertEvents.StorageCapacity,
  AuditAlertEvents.RecordsRejected,
  AuditAlertEvents.SpoolUnwritable,
  AuditAlertEvents.SpoolReplayed,
  AuditAlertEvents.SpoolQuarantined,
]);

/** Whether `event` is one the cluster claims through an {@link EventClaimCoordinator}. */
function isClaimedEvent(event: AuditAlertEvent): event is ClaimedEvent {
  return CLAIMED_TYPES.has(event.type);
}

/**
 * Sends, for one monitor, the events that are no outage's alert or recovery
 * once per cluster: one replica claims each in Redis and sends it, under the
 * cluster's id and occurrence for its episode; the others leave it (and log
 * so). Once per `cooldownMs` per kind of event, whatever the number of
 * replicas; a change of capacity level, and the end of a capacity episode,
 * go out at once. When Redis does not answer, the replica sends the event
 * itself and logs it: a duplicate is possible, silence is not.
 *
 * The figures in an event are those of the replica that claimed it (its window
 * of writes, its records, its spool), never a sum over the cluster.
 */
export class EventClaimCoordinator {
  private readonly keys: readonly [string, string];
  private readonly windowMs: string;
  private readonly recordTtlMs: string;

  constructor(
    monitor: ResolvedMonitorOptions,
    private readonly redis: RedisAlertLink,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly clock: AuditAlertClock,
  ) {
    // The hash tag of the outage keys: a degraded claim marks the outage's record in the same script.
    const base = monitorKeyBase(redis.options.keyPrefix, monitor.serviceName, monitor.name);
    this.keys = [`${base}:episodes`, `${base}:outages`];
    this.windowMs = String(monitor.cooldownMs);
    this.recordTtlMs = String(Math.max(MIN_RECORD_TTL_MS, 3 * monitor.cooldownMs));
  }

  /**
   * Claims `event` and sends it when granted, in the background; an event no replica claims is sent as it is.
   * @returns A promise, never rejected, settled once this replica's deliveries of it have (at once when another sends it).
   */
  send(event: AuditAlertEvent): Promise<void> {
    if (!isClaimedEvent(event)) return this.dispatcher.dispatch(event).then(() => undefined);
    const claimed = this.claim(event);
    this.dispatcher.track(claimed);
    return claimed.then(({ delivered }) => delivered).then(() => undefined);
  }

  /**
   * Claims `event` for the cluster and sends it when granted, or when Redis
   * does not answer. Never rejects.
   * @returns whether this replica sent it, the cluster's id for its episode
   * (the event's own when Redis did not answer or no episode is open), and
   * its deliveries (settled at once when another replica sends it).
   */
  async claim(
    event: ClaimedEvent,
  ): Promise<{ readonly sent: boolean; readonly outageId: string; readonly delivered: Promise<unknown> }> {
    let reply: unknown;
    try {
      reply = await this.redis.eval(CLAIM_EVENT_SCRIPT, this.keys, [
        event.type,
        event.outageId,
        event.type === AuditAlertEvents.StorageCapacity ? event.level : '',
        episodeStepOf(event),
        String(this.clock.wallNow()),
        this.windowMs,
        this.recordTtlMs,
        event.type === AuditAlertEvents.StorageDegraded ? '1' : '0',
      ]);
      if (!Array.isArray(reply) || typeof reply[1] !== 'string' || typeof reply[2] !== 'number') {
        throw new Error(`unexpected reply from Redis: ${typeof reply}`);
      }
    } catch (error) {
      this.redis.sentAlone(event.type, event.monitor, event.outageId, error);
      return { sent: true, outageId: event.outageId, delivered: this.dispatcher.dispatch(event) };
    }
    const [granted, id, occurrence] = reply as [number, string, number];
    const outageId = id === '' ? event.outageId : id;
    if (granted !== 1) {
      this.redis.leftToOthers(event.type, event.monitor, outageId);
      return { sent: false, outageId, delivered: Promise.resolve() };
    }
    return { sent: true, outageId, delivered: this.dispatcher.dispatch(withEpisode(event, outageId, occurrence)) };
  }
}

/** `event` under the cluster's id for its episode, and its occurrence in it when the event counts them. */
function withEpisode(event: ClaimedEvent, outageId: string, occurrence: number): ClaimedEvent {
  return 'occurrence' in event ? { ...event, outageId, occurrence } : { ...event, outageId };
}

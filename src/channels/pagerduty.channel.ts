import { AuditAlertEvents } from '../audit-alert.constants.js';
import { eventKeyOf, isAlertTestEvent } from '../events/audit-alert-event.guards.js';
import type { AuditAlertEvent, StorageRecoveredEvent } from '../events/audit-alert-event.interface.js';
import type { PagerDutySeverity } from './channel-options.interface.js';
import type { ResolvedPagerDutyChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { HttpChannel } from './http.channel.js';
import { humanDuration } from './human-duration.util.js';
import { isHeadline, truncate } from './message-text.util.js';

/** An Events API v2 `trigger` (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyTrigger {
  readonly routing_key: string;
  readonly event_action: 'trigger';
  readonly dedup_key: string;
  readonly payload: {
    readonly summary: string;
    readonly source: string;
    readonly severity: PagerDutySeverity;
    readonly timestamp: string;
    readonly component: string;
    readonly group: string;
    readonly class: string;
    readonly custom_details: Exclude<AuditAlertEvent, StorageRecoveredEvent>;
  };
}

/** An Events API v2 `resolve`: closes the incident its `dedup_key` opened. */
export interface PagerDutyResolve {
  readonly routing_key: string;
  readonly event_action: 'resolve';
  readonly dedup_key: string;
}

/** PagerDuty's limits, in characters. */
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1_024;

/** The events of a storage outage, which may share a key per monitor. */
const OUTAGE_EVENTS: ReadonlySet<string> = new Set([
  AuditAlertEvents.StorageUnreachable,
  AuditAlertEvents.StorageDegraded,
  AuditAlertEvents.StorageRecovered,
]);

/** What a process can leave open in PagerDuty for a monitor: an outage's incident, or a capacity warning's. */
export type PagerDutyIncidentKind = 'outage' | 'capacity';

/**
 * The key of the incident of every outage (or every capacity episode) of one
 * monitor, which a process can compute without knowing the outage: what lets
 * it resolve an incident a process before it left open.
 */
export function pagerDutyMonitorKey(serviceName: string, monitor: string, kind: PagerDutyIncidentKind): string {
  return `${kind === 'outage' ? 'audit-storage' : 'audit-capacity'}:${serviceName}:${monitor}`.slice(0, MAX_DEDUP_KEY);
}

/**
 * One key per outage, so every repeat attaches to the incident the first alert
 * opened and the recovery resolves it; a test has a key of its own, so it can
 * never touch an outage's incident. The id is kept whole: a long service name
 * is what gets cut. Capacity warnings share one key per monitor: every replica
 * measures the same storage, and a restarted process resumes the incident
 * (or resolves it) without knowing the episode.
 * @param keyPerMonitor The outage's events take the monitor's key instead ({@link pagerDutyMonitorKey}).
 */
export function pagerDutyDedupKey(event: AuditAlertEvent, keyPerMonitor = false): string {
  if (event.type === AuditAlertEvents.StorageCapacity) {
    return pagerDutyMonitorKey(event.serviceName, event.monitor, 'capacity');
  }
  if (keyPerMonitor && OUTAGE_EVENTS.has(event.type)) {
    return pagerDutyMonitorKey(event.serviceName, event.monitor, 'outage');
  }
  const kind = isAlertTestEvent(event) ? 'audit-alert-test' : 'audit-storage';
  const id = eventKeyOf(event);
  const prefix = `${kind}:${event.serviceName}:${event.monitor}:`;
  return `${prefix.slice(0, Math.max(0, MAX_DEDUP_KEY - id.length))}${id}`.slice(0, MAX_DEDUP_KEY);
}

function summaryOf(event: Exclude<AuditAlertEvent, StorageRecoveredEvent>): string {
  if (event.type === 'audit.spool.unwritable') {
    return `Audit spool of ${event.serviceName} cannot keep records (monitor ${event.monitor}): ${event.lastError}`;
  }
  if (event.type === 'audit.spool.replayed') {
    return `${event.recordsReplayed} spooled audit records of ${event.serviceName} replayed (monitor ${event.monitor})`;
  }
  if (isAlertTestEvent(event)) {
    return (
      `Test alert: audit storage alerts of ${event.serviceName} reach PagerDuty (monitor ${event.monitor}). ` +
      'Nothing is wrong; this incident is resolved at once.'
    );
  }
  if (event.type === 'audit.storage.capacity') {
    return (
      `Audit storage of ${event.serviceName} ${Math.round(event.usedRatio * 1_000) / 10} % full ` +
      `(monitor ${event.monitor}, ${event.level} level ${event.threshold})`
    );
  }
  if (event.type === 'audit.records.rejected') {
    return (
      `${event.serviceName} is losing audit records: ${event.rejectedRecords} rejected in ` +
      `${humanDuration(event.rejectedDurationMs)}, storage answering (monitor ${event.monitor}): ${event.lastError}`
    );
  }
  if (event.type === 'audit.storage.degraded') {
    return (
      `Audit storage of ${event.serviceName} degraded: ${event.failures} of ${event.writes} writes failed ` +
      `in the last ${humanDuration(event.windowMs)} (monitor ${event.monitor}): ${event.lastError}`
    );
  }
  return (
    `Audit storage of ${event.serviceName} unreachable for ${humanDuration(event.unreachableDurationMs)} ` +
    `(monitor ${event.monitor}): ${event.lastError}`
  );
}

/**
 * Renders `event` as an Events API v2 body: a trigger for an alert (or a
 * test), a resolve for a recovery.
 * A degraded outage and its escalation share the `dedup_key`, so the escalation
 * raises the severity of the incident the degraded alert opened.
 * @param severity Of an unreachable alert (a capacity warning or a test has its own).
 * @param summary The application's own `summary`, in place of the built-in one.
 * @param degradedSeverity Of a degraded alert.
 * @param dedupKey The incident's key ({@link pagerDutyDedupKey}).
 */
export function pagerDutyEvent(
  event: AuditAlertEvent,
  routingKey: string,
  severity: PagerDutySeverity,
  summary?: string,
  degradedSeverity: PagerDutySeverity = 'warning',
  dedupKey = pagerDutyDedupKey(event),
): PagerDutyTrigger | PagerDutyResolve {
  if (event.type === 'audit.storage.recovered') {
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  }
  let timestamp: Date;
  if (event.type === 'audit.storage.capacity') {
    if (event.level === 'normal') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
    // A capacity warning is no outage yet: it pages at the severity of its level, not the channel's.
    severity = event.level;
    timestamp = event.checkedAt;
  } else if (isAlertTestEvent(event)) {
    timestamp = event.sentAt;
  } else if (event.type === 'audit.records.rejected') {
    // Records are lost but the storage answers: no outage, so the degraded alerts' severity.
    severity = degradedSeverity;
    timestamp = new Date(event.firstRejectedAt.getTime() + event.rejectedDurationMs);
  } else if (event.type === 'audit.storage.degraded') {
    // The escalation triggers the same incident with the channel's severity.
    severity = degradedSeverity;
    // The event does not say when it was raised: when its outage began.
    timestamp = event.firstFailureAt;
  } else if (event.type === 'audit.spool.unwritable') {
    // Records are being lost: as urgent as it gets.
    severity = 'critical';
    timestamp = event.failedAt;
  } else if (event.type === 'audit.spool.replayed') {
    severity = 'info';
    timestamp = event.replayedAt;
  } else {
    // When the alert was raised: the outage's start plus how long it had lasted.
    timestamp = new Date(event.firstFailureAt.getTime() + event.unreachableDurationMs);
  }
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      // Plain text to PagerDuty: nothing to escape, only its limit to keep.
      summary: truncate(summary ?? summaryOf(event), MAX_SUMMARY),
      source: event.serviceName,
      severity,
      timestamp: timestamp.toISOString(),
      component: event.monitor,
      group: 'audit-storage',
      class: event.type,
      custom_details: event,
    },
  };
}

/**
 * Triggers a PagerDuty incident per outage, repeats into it, and resolves it
 * on recovery. A test alert, or a spool replayed, triggers an `info` incident
 * of its own and resolves it at once.
 */
export class PagerDutyChannel extends HttpChannel<ResolvedPagerDutyChannel> {
  /**
   * @param keyPerMonitor Key the incidents of outages by monitor rather than by
   * outage: where no store remembers an outage across a restart, this is what
   * lets the next process resolve (or repeat into) the incident of an outage
   * it never saw ({@link resolveLeftOpen}).
   */
  constructor(
    options: ResolvedPagerDutyChannel,
    delivery: HttpDelivery,
    private readonly keyPerMonitor = false,
  ) {
    super(options, delivery, 'PagerDuty');
  }

  /**
   * Whether {@link resolveLeftOpen} may be sent for the `kind` of incident of
   * `monitor`: this channel sends that monitor's events that end such an
   * incident, and keys it by monitor (capacity warnings always are; outages
   * where no store remembers them). PagerDuty ignores a resolve of an incident
   * that is not open.
   */
  resolvesLeftOpen(monitor: string, kind: PagerDutyIncidentKind): boolean {
    const { monitors, events } = this.options;
    if (monitors !== null && !monitors.has(monitor)) return false;
    return kind === 'capacity'
      ? events.includes(AuditAlertEvents.StorageCapacity)
      : this.keyPerMonitor && events.includes(AuditAlertEvents.StorageRecovered);
  }

  /**
   * Resolves the `kind` of incident of `monitor` that a process before this
   * one may have left open, in order with the other events of its key.
   * @returns How many attempts it took.
   */
  resolveLeftOpen(serviceName: string, monitor: string, kind: PagerDutyIncidentKind): Promise<number> {
    const key = pagerDutyMonitorKey(serviceName, monitor, kind);
    const body: PagerDutyResolve = { routing_key: this.options.routingKey, event_action: 'resolve', dedup_key: key };
    const eventType = kind === 'outage' ? AuditAlertEvents.StorageRecovered : AuditAlertEvents.StorageCapacity;
    return this.inOrder(key, () => this.post(eventType, [body]));
  }

  protected override orderKey(event: AuditAlertEvent): string {
    return pagerDutyDedupKey(event, this.keyPerMonitor);
  }

  protected override bodyFor(event: AuditAlertEvent): PagerDutyTrigger | PagerDutyResolve {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    const { routingKey, degradedSeverity } = this.options;
    const severity = isAlertTestEvent(event) ? 'info' : this.options.severity;
    const dedupKey = pagerDutyDedupKey(event, this.keyPerMonitor);
    return pagerDutyEvent(event, routingKey, severity, summary, degradedSeverity, dedupKey);
  }

  protected override bodiesFor(event: AuditAlertEvent): unknown[] {
    const body = this.bodyFor(event);
    // A test, or a spool replayed, is news rather than a problem: its incident is resolved at once.
    if (!isAlertTestEvent(event) && event.type !== 'audit.spool.replayed') return [body];
    return [
      body,
      { routing_key: this.options.routingKey, event_action: 'resolve', dedup_key: pagerDutyDedupKey(event) },
    ];
  }
}

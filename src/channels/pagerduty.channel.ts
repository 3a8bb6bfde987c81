import { AuditAlertEvents, type AuditAlertEventType } from '../audit-alert.constants.js';
import {
  type AuditAlertEventRenderers,
  episodeClosesLater,
  episodeOf,
  eventKeyOf,
  renderEvent,
} from '../events/audit-alert-event-kinds.js';
import { isAlertTestEvent } from '../events/audit-alert-event.guards.js';
import type {
  AlertAcknowledgedEvent,
  AuditAlertEvent,
  StorageRecoveredEvent,
} from '../events/audit-alert-event.interface.js';
import type { AuditEpisodeKind, LeftOpenEpisodeKind } from '../events/audit-episode.js';
import type { PagerDutySeverity } from './channel-options.interface.js';
import type { ResolvedPagerDutyChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, HttpChannel } from './http.channel.js';
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
    readonly custom_details: Exclude<AuditAlertEvent, StorageRecoveredEvent | AlertAcknowledgedEvent>;
  };
  /** The monitor's links (runbook, dashboard), shown on the incident; absent when it has none. */
  readonly links?: readonly { readonly href: string; readonly text: string }[];
}

/** An Events API v2 `resolve`: closes the incident its `dedup_key` opened. */
interface PagerDutyResolve {
  readonly routing_key: string;
  readonly event_action: 'resolve';
  readonly dedup_key: string;
}

/** An Events API v2 `acknowledge`: the incident its `dedup_key` opened stops escalating. */
interface PagerDutyAcknowledge {
  readonly routing_key: string;
  readonly event_action: 'acknowledge';
  readonly dedup_key: string;
}

/** PagerDuty's limits, in characters. */
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1_024;

/** The prefix of the incident keys of each kind of episode. */
const INCIDENT_KEY_PREFIXES = {
  outage: 'audit-storage',
  capacity: 'audit-capacity',
  rejected: 'audit-storage',
  spool: 'audit-storage',
  replay: 'audit-storage',
  quarantine: 'audit-spool-quarantine',
  ledger: 'audit-ledger',
  test: 'audit-alert-test',
} as const satisfies Record<AuditEpisodeKind, string>;

/** The event type a resolve of a left-open incident (or a close of an alert) is logged under. */
export const LEFT_OPEN_EVENT_TYPES = {
  outage: AuditAlertEvents.StorageRecovered,
  capacity: AuditAlertEvents.StorageCapacity,
} as const satisfies Record<LeftOpenEpisodeKind, AuditAlertEventType>;

/**
 * The key of the incident of every outage (or every capacity episode) of one
 * monitor, which a process can compute without knowing the outage: what lets
 * it resolve an incident a process before it left open.
 */
export function pagerDutyMonitorKey(serviceName: string, monitor: string, kind: LeftOpenEpisodeKind): string {
  return `${INCIDENT_KEY_PREFIXES[kind]}:${serviceName}:${monitor}`.slice(0, MAX_DEDUP_KEY);
}

/**
 * Whether a channel keyed like PagerDuty can end the `kind` of incident of
 * `monitor` a process before this one left open: it sends that monitor's
 * events that end such an incident, and keys it by monitor (capacity warnings
 * always are; outages where no store remembers them).
 */
export function endsLeftOpen(
  options: { readonly monitors: ReadonlySet<string> | null; readonly events: readonly AuditAlertEventType[] },
  keyPerMonitor: boolean,
  monitor: string,
  kind: LeftOpenEpisodeKind,
): boolean {
  if (options.monitors !== null && !options.monitors.has(monitor)) return false;
  return kind === 'capacity'
    ? options.events.includes(AuditAlertEvents.StorageCapacity)
    : keyPerMonitor && options.events.includes(AuditAlertEvents.StorageRecovered);
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
  const episode = episodeOf(event);
  if (episode === 'capacity' || (keyPerMonitor && episode === 'outage')) {
    return pagerDutyMonitorKey(event.serviceName, event.monitor, episode);
  }
  const id = eventKeyOf(event);
  const prefix = `${INCIDENT_KEY_PREFIXES[episode]}:${event.serviceName}:${event.monitor}:`;
  return `${prefix.slice(0, Math.max(0, MAX_DEDUP_KEY - id.length))}${id}`.slice(0, MAX_DEDUP_KEY);
}

/** The severities a channel was configured with: of an unreachable alert, and of a degraded one. */
interface PagerDutySeverities {
  readonly severity: PagerDutySeverity;
  readonly degradedSeverity: PagerDutySeverity;
}

/** What a trigger says of its event. */
interface PagerDutyTriggerParts {
  readonly summary: string;
  readonly severity: PagerDutySeverity;
  /** When the event was raised. */
  readonly timestamp: Date;
}

/**
 * What each event triggers, or `null` for an event that ends its incident: a
 * resolve is sent instead; `'acknowledge'` for one that answers it.
 */
const PAGERDUTY_TRIGGERS = {
  'audit.storage.unreachable': (event, { severity }) => ({
    summary:
      `Audit storage of ${event.serviceName} unreachable for ${humanDuration(event.unreachableDurationMs)} ` +
      `(monitor ${event.monitor}): ${event.lastError}`,
    severity,
    // When the alert was raised: the outage's start plus how long it had lasted.
    timestamp: new Date(event.firstFailureAt.getTime() + event.unreachableDurationMs),
  }),
  'audit.storage.degraded': (event, { degradedSeverity }) => ({
    summary:
      `Audit storage of ${event.serviceName} degraded: ${event.failures} of ${event.writes} writes failed ` +
      `in the last ${humanDuration(event.windowMs)} (monitor ${event.monitor}): ${event.lastError}`,
    // The escalation triggers the same incident with the channel's severity.
    severity: degradedSeverity,
    // The event does not say when it was raised: when its outage began.
    timestamp: event.firstFailureAt,
  }),
  'audit.storage.recovered': () => null,
  'audit.storage.capacity': (event) =>
    event.level === 'normal'
      ? null
      : {
          summary:
            `Audit storage of ${event.serviceName} ${Math.round(event.usedRatio * 1_000) / 10} % full ` +
            `(monitor ${event.monitor}, ${event.level} level ${event.threshold})`,
          // A capacity warning is no outage yet: it pages at the severity of its level, not the channel's.
          severity: event.level,
          timestamp: event.checkedAt,
        },
  'audit.records.rejected': (event, { degradedSeverity }) => ({
    summary:
      `${event.serviceName} is losing audit records: ${event.rejectedRecords} rejected in ` +
      `${humanDuration(event.rejectedDurationMs)}, storage answering (monitor ${event.monitor}): ${event.lastError}`,
    // Records are lost but the storage answers: no outage, so the degraded alerts' severity.
    severity: degradedSeverity,
    timestamp: new Date(event.firstRejectedAt.getTime() + event.rejectedDurationMs),
  }),
  'audit.spool.unwritable': (event) => ({
    summary: `Audit spool of ${event.serviceName} cannot keep records (monitor ${event.monitor}): ${event.lastError}`,
    // Records are being lost: as urgent as it gets.
    severity: 'critical',
    timestamp: event.failedAt,
  }),
  'audit.spool.replayed': (event) => ({
    summary: `${event.recordsReplayed} spooled audit records of ${event.serviceName} replayed (monitor ${event.monitor})`,
    severity: 'info',
    timestamp: event.replayedAt,
  }),
  'audit.spool.quarantined': (event, { severity }) => ({
    summary:
      `${event.recordsQuarantined} spooled audit records of ${event.serviceName} set aside in ${event.file}` +
      `${event.recordsMissing > 0 ? `, ${event.recordsMissing} missing` : ''} (monitor ${event.monitor}): ${event.reason}`,
    severity,
    timestamp: event.quarantinedAt,
  }),
  'audit.ledger.broken': (event) => ({
    summary: `Evidence ledger of ${event.serviceName} broken at ${event.file} line ${event.line}: ${event.reason}`,
    severity: 'warning',
    timestamp: event.detectedAt,
  }),
  'audit.alert.test': (event, { severity }) => ({
    summary:
      `Test alert: audit storage alerts of ${event.serviceName} reach PagerDuty (monitor ${event.monitor}). ` +
      'Nothing is wrong; this incident is resolved at once.',
    severity,
    timestamp: event.sentAt,
  }),
  'audit.alert.acknowledged': () => 'acknowledge' as const,
  'audit.alert.test.failed': (event) => ({
    summary: `${event.recipient} failed the test alert of ${event.serviceName} (monitor ${event.monitor}): ${event.reason}`,
    severity: 'warning',
    timestamp: event.sentAt,
  }),
} satisfies AuditAlertEventRenderers<PagerDutyTriggerParts | 'acknowledge' | null, [PagerDutySeverities]>;

/**
 * Renders `event` as an Events API v2 body: a trigger for an alert (or a
 * test), a resolve for a recovery, an acknowledge for an acknowledgement.
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
): PagerDutyTrigger | PagerDutyResolve | PagerDutyAcknowledge {
  const trigger = renderEvent<PagerDutyTriggerParts | 'acknowledge' | null, [PagerDutySeverities]>(
    PAGERDUTY_TRIGGERS,
    event,
    { severity, degradedSeverity },
  );
  if (trigger === null) return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  if (trigger === 'acknowledge') return { routing_key: routingKey, event_action: 'acknowledge', dedup_key: dedupKey };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      // Plain text to PagerDuty: nothing to escape, only its limit to keep.
      summary: truncate(summary ?? trigger.summary, MAX_SUMMARY),
      source: event.serviceName,
      severity: trigger.severity,
      timestamp: trigger.timestamp.toISOString(),
      component: event.monitor,
      group: 'audit-storage',
      class: event.type,
      // Only a recovery and an acknowledgement render no trigger.
      custom_details: event as PagerDutyTrigger['payload']['custom_details'],
    },
  };
}

/**
 * Triggers a PagerDuty incident per outage, repeats into it, and resolves it
 * on recovery; an acknowledgement acknowledges it. A test alert, or a spool replayed, triggers an `info` incident
 * of its own and resolves it at once; so do records rejected and a spool that
 * cannot write, whose episodes no event ends.
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
    links?: ChannelLinks,
  ) {
    super(options, delivery, 'PagerDuty', links);
  }

  /**
   * Whether {@link resolveLeftOpen} may be sent for the `kind` of incident of
   * `monitor`: this channel sends that monitor's events that end such an
   * incident, and keys it by monitor (capacity warnings always are; outages
   * where no store remembers them). PagerDuty ignores a resolve of an incident
   * that is not open.
   */
  resolvesLeftOpen(monitor: string, kind: LeftOpenEpisodeKind): boolean {
    return endsLeftOpen(this.options, this.keyPerMonitor, monitor, kind);
  }

  /**
   * Resolves the `kind` of incident of `monitor` that a process before this
   * one may have left open, in order with the other events of its key.
   * @returns How many attempts it took.
   */
  resolveLeftOpen(serviceName: string, monitor: string, kind: LeftOpenEpisodeKind): Promise<number> {
    const key = pagerDutyMonitorKey(serviceName, monitor, kind);
    const body: PagerDutyResolve = { routing_key: this.options.routingKey, event_action: 'resolve', dedup_key: key };
    return this.inOrder(key, () => this.post(LEFT_OPEN_EVENT_TYPES[kind], [body]));
  }

  protected override orderKey(event: AuditAlertEvent): string {
    return pagerDutyDedupKey(event, this.keyPerMonitor);
  }

  protected override bodyFor(event: AuditAlertEvent): PagerDutyTrigger | PagerDutyResolve | PagerDutyAcknowledge {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    const { routingKey, degradedSeverity } = this.options;
    const severity = isAlertTestEvent(event) ? 'info' : this.options.severity;
    const dedupKey = pagerDutyDedupKey(event, this.keyPerMonitor);
    const body = pagerDutyEvent(event, routingKey, severity, summary, degradedSeverity, dedupKey);
    const links = this.linksOf(event.monitor);
    if (body.event_action !== 'trigger' || links.length === 0) return body;
    return { ...body, links: links.map(({ url, text }) => ({ href: url, text })) };
  }

  protected override bodiesFor(event: AuditAlertEvent): unknown[] {
    const body = this.bodyFor(event);
    if (body.event_action !== 'trigger' || episodeClosesLater(event)) return [body];
    // Its incident is resolved at once: a test, or a spool replayed, is the whole of its episode; no event
    // ends a run of rejected records or a spool that cannot write, so an incident left open for them would
    // never be resolved. Each of their alerts pages (a rejected run again every cooldownMs while it lasts).
    return [
      body,
      { routing_key: this.options.routingKey, event_action: 'resolve', dedup_key: pagerDutyDedupKey(event) },
    ];
  }
}

import {
  type AuditAlertEventRenderers,
  episodeClosesLater,
  episodeStepOf,
  renderEvent,
} from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { isAlertAcknowledgedEvent } from '../events/audit-alert-event.guards.js';
import type { LeftOpenEpisodeKind } from '../events/audit-episode.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { OpsgeniePriority } from './channel-options.interface.js';
import type { ResolvedOpsgenieChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, type ChannelRequest, HttpChannel } from './http.channel.js';
import { isHeadline, truncate } from './message-text.util.js';
import { endsLeftOpen, LEFT_OPEN_EVENT_TYPES, pagerDutyDedupKey, pagerDutyMonitorKey } from './pagerduty.channel.js';
import { plainDate, plainMessage } from './plain-message.js';

/** A create-alert request (https://docs.opsgenie.com/docs/alert-api#create-alert). */
interface OpsgenieCreate {
  readonly message: string;
  readonly alias: string;
  readonly description: string;
  readonly priority: OpsgeniePriority;
  readonly source: string;
  readonly entity: string;
  readonly tags: readonly string[];
  /** Custom properties: strings only. */
  readonly details: Readonly<Record<string, string>>;
}

/** A close-alert request, sent to `/v2/alerts/<alias>/close?identifierType=alias`. */
interface OpsgenieClose {
  readonly source: string;
  readonly note: string;
}

/** The body of an acknowledge (`POST /v2/alerts/<alias>/acknowledge?identifierType=alias`). */
interface OpsgenieAcknowledge {
  readonly user: string;
  readonly source: string;
  readonly note: string;
}

/** Opsgenie's limits, in characters. */
const MAX_MESSAGE = 130;
const MAX_ALIAS = 512;
const MAX_DESCRIPTION = 15_000;
const MAX_SOURCE = 100;
const MAX_ENTITY = 512;
const MAX_TAG = 50;
/** The `details` of an alert, keys and values together. */
const MAX_DETAILS = 8_000;
const MAX_NOTE = 25_000;

/** The priorities a channel was configured with: of an unreachable alert, and of a degraded one. */
interface OpsgeniePriorities {
  readonly priority: OpsgeniePriority;
  readonly degradedPriority: OpsgeniePriority;
}

/**
 * The priority each event creates its alert at, `null` for an event that
 * closes it, `'acknowledge'` for one that acknowledges it.
 */
const OPSGENIE_PRIORITIES = {
  'audit.storage.unreachable': (_event, { priority }) => priority,
  // The escalation raises the count of the same alert (same alias).
  'audit.storage.degraded': (_event, { degradedPriority }) => degradedPriority,
  'audit.storage.recovered': () => null,
  // A capacity warning is no outage yet: the priority of its level, not the channel's.
  'audit.storage.capacity': (event) =>
    ({ warning: 'P3', critical: 'P1', normal: null })[event.level] as OpsgeniePriority | null,
  // Records are lost but the storage answers: the degraded alerts' priority.
  'audit.records.rejected': (_event, { degradedPriority }) => degradedPriority,
  // Records are being lost: as urgent as it gets.
  'audit.spool.unwritable': () => 'P1',
  'audit.spool.replayed': () => 'P5',
  // Records set aside instead of replayed, some perhaps missing: someone must look (the channel's priority, as PagerDuty's severity).
  'audit.spool.quarantined': (_event, { priority }) => priority,
  // Evidence may have been tampered with; no record is being lost now.
  'audit.ledger.broken': () => 'P3',
  'audit.alert.test': () => 'P5',
  'audit.alert.acknowledged': () => 'acknowledge' as const,
  // A recipient that would miss the next alert: worth a look, not a page at night.
  'audit.alert.test.failed': () => 'P3',
} satisfies AuditAlertEventRenderers<OpsgeniePriority | 'acknowledge' | null, [OpsgeniePriorities]>;

/** Adds `[key, value]` to `details` while the whole stays within Opsgenie's limit. */
function addDetail(details: Record<string, string>, key: string, value: string, used: { chars: number }): void {
  if (used.chars + key.length + value.length > MAX_DETAILS) return;
  details[key] = value;
  used.chars += key.length + value.length;
}

/**
 * Renders `event` as the body of a create-alert request, or `null` for an
 * event that closes its alert (a recovery, capacity back to normal).
 * @param alias The alert's alias: the incident key PagerDuty's `dedup_key` is, see {@link pagerDutyDedupKey}.
 * @param summary The application's own `summary`, in place of the built-in message.
 */
export function opsgenieAlert(
  event: AuditAlertEvent,
  alias: string,
  priorities: OpsgeniePriorities = { priority: 'P1', degradedPriority: 'P3' },
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): OpsgenieCreate | null {
  const priority = renderEvent<OpsgeniePriority | 'acknowledge' | null, [OpsgeniePriorities]>(
    OPSGENIE_PRIORITIES,
    event,
    priorities,
  );
  if (priority === null || priority === 'acknowledge') return null;
  const plain = plainMessage(event);
  const facts = plain.facts.map(([name, value]) => [name, value instanceof Date ? plainDate(value) : value] as const);
  const description = [
    plain.text,
    ...(plain.error === null ? [] : ['', 'Last error:', plain.error]),
    '',
    ...facts.map(([name, value]) => `${name}: ${value}`),
    `${plain.key[0]}: ${plain.key[1]}`,
    ...(links.length === 0 ? [] : ['', ...links.map((link) => `${link.text}: ${link.url}`)]),
  ].join('\n');
  // Strings only; the event's own fields first, the links as long as the limit allows.
  const details: Record<string, string> = {};
  const used = { chars: 0 };
  for (const [key, value] of Object.entries(event)) {
    addDetail(details, key, value instanceof Date ? value.toISOString() : String(value), used);
  }
  for (const link of links) addDetail(details, `link: ${link.text}`, link.url, used);
  return {
    // Plain text to Opsgenie: only its limits to keep.
    message: truncate(summary ?? plain.headline, MAX_MESSAGE),
    alias,
    description: truncate(description, MAX_DESCRIPTION),
    priority,
    source: truncate(event.serviceName, MAX_SOURCE),
    entity: truncate(`${event.serviceName}/${event.monitor}`, MAX_ENTITY),
    tags: ['audit-storage', event.type, `monitor:${event.monitor}`].map((tag) => truncate(tag, MAX_TAG)),
    details,
  };
}

/** The note of a close: why the alert ends. */
function closeNote(event: AuditAlertEvent | null): string {
  if (event === null) return 'Closed by a restarted process: the audit storage works again.';
  if (episodeStepOf(event) === 'once') return 'Nothing to do: closed as soon as it was created.';
  return truncate(plainMessage(event).text, MAX_NOTE);
}

/**
 * Creates an Opsgenie (or Jira Service Management Operations) alert per
 * outage, raises its count on each repeat, and closes it on recovery. A test
 * alert, or a spool replayed, creates a `P5` alert of its own and closes it at
 * once; so do records rejected, a spool that cannot write and records set
 * aside from the spool (at the channel's `priority`), whose episodes no event ends.
 */
export class OpsgenieChannel extends HttpChannel<ResolvedOpsgenieChannel> {
  /**
   * @param keyPerMonitor Key the alerts of outages by monitor rather than by outage, as PagerDuty's incidents
   * are where nothing remembers an outage across a restart.
   */
  constructor(
    options: ResolvedOpsgenieChannel,
    delivery: HttpDelivery,
    private readonly keyPerMonitor = false,
    links?: ChannelLinks,
  ) {
    super(options, delivery, 'Opsgenie', links);
  }

  protected override extraHeaders(): Readonly<Record<string, string>> {
    return { authorization: `GenieKey ${this.options.apiKey}` };
  }

  /** Whether {@link resolveLeftOpen} may be sent for the `kind` of alert of `monitor`, as for PagerDuty. */
  resolvesLeftOpen(monitor: string, kind: LeftOpenEpisodeKind): boolean {
    return endsLeftOpen(this.options, this.keyPerMonitor, monitor, kind);
  }

  /**
   * Closes the `kind` of alert of `monitor` a process before this one may have
   * left open, in order with the other events of its alias. Opsgenie accepts
   * (`202`) the close of an alias with no open alert, and does nothing.
   * @returns How many attempts it took.
   */
  resolveLeftOpen(serviceName: string, monitor: string, kind: LeftOpenEpisodeKind): Promise<number> {
    const alias = pagerDutyMonitorKey(serviceName, monitor, kind);
    return this.inOrder(alias, () =>
      this.post(LEFT_OPEN_EVENT_TYPES[kind], [{ alias, close: this.closeBody(null, serviceName) }]),
    );
  }

  protected override orderKey(event: AuditAlertEvent): string {
    return this.aliasOf(event);
  }

  /** The incident key PagerDuty's `dedup_key` is: one per outage (or per monitor), within Opsgenie's 512. */
  private aliasOf(event: AuditAlertEvent): string {
    return truncate(pagerDutyDedupKey(event, this.keyPerMonitor), MAX_ALIAS);
  }

  private closeBody(event: AuditAlertEvent | null, serviceName: string): OpsgenieClose {
    return { source: truncate(serviceName, MAX_SOURCE), note: closeNote(event) };
  }

  protected override bodyFor(event: AuditAlertEvent): unknown {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    const alias = this.aliasOf(event);
    const create = opsgenieAlert(event, alias, this.options, summary, this.linksOf(event.monitor));
    if (create !== null) return create;
    if (!isAlertAcknowledgedEvent(event)) return { alias, close: this.closeBody(event, event.serviceName) };
    const acknowledge: OpsgenieAcknowledge = {
      user: truncate(event.by, MAX_SOURCE),
      source: truncate(event.serviceName, MAX_SOURCE),
      note: truncate(plainMessage(event).text, MAX_NOTE),
    };
    return { alias, acknowledge };
  }

  protected override bodiesFor(event: AuditAlertEvent): unknown[] {
    const body = this.bodyFor(event);
    // Closed at once: a test, or a spool replayed, is the whole of its episode; no event ends a run of
    // rejected records or a spool that cannot write, so an alert left open for them would never be closed.
    if (episodeClosesLater(event)) return [body];
    return [body, { alias: this.aliasOf(event), close: this.closeBody(event, event.serviceName) }];
  }

  /**
   * A create goes to `/v2/alerts`; a close to `/v2/alerts/<alias>/close?identifierType=alias`,
   * an acknowledge to `/v2/alerts/<alias>/acknowledge?identifierType=alias`.
   */
  protected override requestFor(body: unknown): ChannelRequest {
    const { url } = this.options;
    const action = body as {
      readonly alias?: string;
      readonly close?: OpsgenieClose;
      readonly acknowledge?: OpsgenieAcknowledge;
    };
    const alias = encodeURIComponent(action.alias ?? '');
    if (action.close !== undefined) {
      return { url: `${url}/v2/alerts/${alias}/close?identifierType=alias`, body: action.close };
    }
    if (action.acknowledge !== undefined) {
      return { url: `${url}/v2/alerts/${alias}/acknowledge?identifierType=alias`, body: action.acknowledge };
    }
    return { url: `${url}/v2/alerts`, body };
  }
}

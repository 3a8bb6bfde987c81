import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';

/**
 * How a built-in channel delivers: which events it sends, how long one attempt
 * may take, and how it retries. Shared by every channel type.
 */
export interface AuditAlertChannelDeliveryOptions {
  /**
   * Event types this channel sends, as in `@AuditAlertHook({ events })`.
   * @default every type of `AuditAlertEvents`
   */
  events?: readonly AuditAlertEventType[];
  /**
   * Names of the monitors whose events this channel sends, as in
   * `@AuditAlertHook({ monitors })`; a name no monitor has stops the bootstrap.
   * @default every monitor
   */
  monitors?: readonly string[];
  /**
   * Send an outage's `audit.storage.unreachable` (and `audit.storage.degraded`)
   * only from its n-th alert of that type on (`occurrence >= fromOccurrence`),
   * and its recovery only if this channel was sent one of its alerts: an
   * escalation, such as Slack from the first alert and PagerDuty from the second.
   * @default 1
   */
  fromOccurrence?: number;
  /**
   * Longest wait for the response to one attempt, in milliseconds.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Further attempts after a network error, a timeout, a 429 or a 5xx
   * response (other 4xx responses are never retried). From 0 to 10.
   * @default 3
   */
  retries?: number;
  /**
   * Delay before the first retry, in milliseconds; doubled for each further
   * retry, with jitter (each wait is between half and all of it), capped at
   * five minutes. A `Retry-After` header sent by the receiver takes precedence.
   * @default 1_000
   */
  backoffMs?: number;
}

/**
 * POSTs each event, as JSON, to any HTTP endpoint.
 *
 * ```ts
 * { type: 'webhook', url: 'https://alerts.example.com/audit', headers: { authorization: `Bearer ${token}` } }
 * ```
 */
export interface WebhookChannelOptions extends AuditAlertChannelDeliveryOptions {
  readonly type: 'webhook';
  /** Absolute `https:` (or `http:`) URL the events are POSTed to. */
  url: string;
  /**
   * Extra request headers, such as `authorization`. Their values are never logged.
   * @default {}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Shapes the JSON body sent for an event, in place of the event itself. It
   * may return a promise, awaited at most the channel's `timeoutMs`. If it
   * throws, rejects, does not settle in time, or comes to what JSON cannot
   * encode, the event is sent as it is and the reason is logged.
   * @default undefined (the event, dates as ISO strings)
   */
  body?: (event: AuditAlertEvent) => unknown | Promise<unknown>;
}

/**
 * What Slack, Teams and PagerDuty channels accept to word their alerts.
 */
export interface AuditAlertChannelSummaryOptions {
  /**
   * The headline of the message (Slack, Teams) or the incident `summary`
   * (PagerDuty), in place of the built-in one. The module escapes it for the
   * receiver and cuts it to the receiver's limit. If it throws, or returns
   * anything but a non-empty string, the built-in headline is sent and the
   * reason is logged.
   * @default undefined (the built-in headline)
   */
  summary?: (event: AuditAlertEvent) => string;
}

/**
 * Posts a message a person can read to a Slack channel through an incoming
 * webhook (https://api.slack.com/messaging/webhooks).
 *
 * ```ts
 * { type: 'slack', url: process.env.SLACK_WEBHOOK_URL }
 * ```
 */
export interface SlackChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'slack';
  /** The incoming webhook URL, `https://hooks.slack.com/services/…`. Never logged beyond its origin. */
  url: string;
}

/**
 * Posts an Adaptive Card to a Microsoft Teams channel or chat through a Teams
 * Workflows (Power Automate) webhook: the "Post to a channel when a webhook
 * request is received" template, which replaces the retired Office 365
 * connectors.
 *
 * ```ts
 * { type: 'teams', url: process.env.TEAMS_WORKFLOW_URL }
 * ```
 */
export interface TeamsChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'teams';
  /** The workflow's HTTP POST URL, whose query holds its signature. Never logged beyond its origin. */
  url: string;
}

/** Severity of a PagerDuty alert, as the Events API v2 names it. */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/**
 * Triggers a PagerDuty incident through the Events API v2 when the storage is
 * unreachable or degraded, and resolves it on recovery. Every alert of one outage shares
 * one `dedup_key`, so repeats attach to the same incident.
 *
 * ```ts
 * { type: 'pagerduty', routingKey: process.env.PAGERDUTY_ROUTING_KEY }
 * ```
 */
export interface PagerDutyChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'pagerduty';
  /** Integration key of an Events API v2 integration. Never logged. */
  routingKey: string;
  /**
   * Severity of the triggered alert.
   * @default 'critical'
   */
  severity?: PagerDutySeverity;
  /**
   * Severity of an `audit.storage.degraded` alert. Its escalation to
   * unreachable triggers the same incident (same `dedup_key`) with `severity`.
   * @default 'warning'
   */
  degradedSeverity?: PagerDutySeverity;
  /**
   * Events API endpoint.
   * @default 'https://events.pagerduty.com/v2/enqueue'
   */
  url?: string;
}

/** One entry of the `channels` option: a built-in alert channel. */
export type AuditAlertChannelOptions =
  WebhookChannelOptions | SlackChannelOptions | TeamsChannelOptions | PagerDutyChannelOptions;

/** The `type` of a built-in channel. */
export type AuditAlertChannelType = AuditAlertChannelOptions['type'];

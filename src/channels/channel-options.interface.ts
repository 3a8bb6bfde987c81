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
  /**
   * Signs every request: the header `X-Audit-Alert-Signature:
   * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, made afresh
   * for each attempt, with one `v1` per secret: give two while rotating, so a
   * receiver holding either one accepts. Each secret at least 16 characters;
   * never logged.
   * @default undefined (no signature)
   */
  signingSecret?: string | readonly string[];
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

/**
 * What an email channel hands its transport: nodemailer's message fields
 * (https://nodemailer.com/message/), so a nodemailer transporter takes it as it is.
 */
export interface AuditAlertEmailMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly subject: string;
  /** The plain-text part. */
  readonly text: string;
  /** The HTML part, every text of the event escaped. */
  readonly html: string;
  /** `Message-ID`, such as `<6f1c2a1e-….unreachable-1@nestjs-audit-alert>`. */
  readonly messageId: string;
  /** `In-Reply-To`: the message of the outage this one answers (absent on its first). */
  readonly inReplyTo?: string;
  /** `References`: the outage's thread. */
  readonly references?: readonly string[];
  /**
   * Set on a retry after the server refused some recipients with a 4xx
   * reply: the message goes to those alone (its headers still name everyone).
   */
  readonly envelope?: { readonly from: string; readonly to: readonly string[] };
}

/**
 * A transport that sends mail: a nodemailer transporter the application already
 * has (`nodemailer.createTransport(…)`, SES, a pool…), or anything with the
 * same `sendMail`. A rejection carrying an SMTP `responseCode` of 400 to 499
 * is retried, one of 500 or more is not.
 */
export interface AuditAlertEmailTransporter {
  sendMail(message: AuditAlertEmailMessage): Promise<unknown>;
}

/**
 * SMTP settings from which the channel builds a nodemailer transporter
 * (nodemailer is then needed: `npm install nodemailer`). The same names as
 * nodemailer's SMTP transport (https://nodemailer.com/smtp/).
 */
export interface AuditAlertSmtpOptions {
  /** The SMTP server. */
  host: string;
  /** @default 465 with `secure`, else 587 */
  port?: number;
  /**
   * TLS from the first byte (port 465). Without it, the connection is
   * upgraded with STARTTLS when the server offers it.
   * @default false
   */
  secure?: boolean;
  /**
   * Refuse to send unless the connection is upgraded with STARTTLS: without
   * it (or `secure`), a server on another machine draws a warning at bootstrap.
   * @default false
   */
  requireTLS?: boolean;
  /** Credentials for SMTP AUTH (PLAIN or LOGIN). The password is never logged. */
  auth?: { user: string; pass: string };
  /** Node's TLS options (`ca`, `servername`, `rejectUnauthorized`…), passed as they are. */
  tls?: Readonly<Record<string, unknown>>;
  /**
   * The name this machine gives in `EHLO`.
   * @default the machine's host name
   */
  name?: string;
}

/**
 * Emails each alert and recovery: a plain-text and an HTML part; the recovery
 * and the repeats of an outage thread under its first alert
 * (`In-Reply-To`/`References`).
 *
 * ```ts
 * { type: 'email', from: 'audit-alerts@example.com', to: ['oncall@example.com'],
 *   transport: { host: 'smtp.example.com', port: 587, requireTLS: true, auth: { user, pass } } }
 * ```
 */
export interface EmailChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'email';
  /** Recipients: one address or several (`ops@example.com`, `"On call" <oncall@example.com>`). */
  to: string | readonly string[];
  /** The sender address. */
  from: string;
  /** Copied recipients. */
  cc?: string | readonly string[];
  /** A transporter the application has, or SMTP settings to build one with nodemailer. */
  transport: AuditAlertEmailTransporter | AuditAlertSmtpOptions;
}

/** Credentials for an Alertmanager behind a proxy: HTTP basic, or a bearer token. Never logged. */
export type AlertmanagerAuth = { username: string; password: string } | { bearer: string };

/**
 * Raises alerts in Prometheus Alertmanager through its API
 * (`POST <url>/api/v2/alerts`), so they follow its routes, grouping, silences
 * and inhibitions. While an outage is open its alert is sent again every
 * `resendIntervalMs`, which must stay below Alertmanager's `resolve_timeout`
 * (5 minutes unless configured); the recovery sends it with `endsAt`.
 *
 * ```ts
 * { type: 'alertmanager', url: 'http://alertmanager:9093' }
 * ```
 */
export interface AlertmanagerChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'alertmanager';
  /** Alertmanager's base URL, such as `http://alertmanager:9093` (a path prefix is kept). Never logged beyond its origin. */
  url: string;
  /** Basic or bearer credentials, for an Alertmanager behind an authenticating proxy. */
  auth?: AlertmanagerAuth;
  /**
   * How often an open outage's alert is sent again, in milliseconds; from
   * 1,000 to 240,000. Keep it below Alertmanager's `resolve_timeout`, or the
   * alert resolves between two sends.
   * @default 60_000
   */
  resendIntervalMs?: number;
  /**
   * `generatorURL` of every alert: where a person goes from it (a dashboard,
   * a runbook).
   * @default undefined (none sent)
   */
  generatorUrl?: string;
}

/** Priority of an Opsgenie (or Jira Service Management) alert: `P1` is the highest. */
export type OpsgeniePriority = 'P1' | 'P2' | 'P3' | 'P4' | 'P5';

/**
 * Creates an Opsgenie alert, or a Jira Service Management Operations alert
 * (which takes the same API), when the storage is unreachable or degraded,
 * and closes it on recovery. Every alert of one outage carries the same
 * `alias`, so repeats only raise its count.
 *
 * ```ts
 * { type: 'opsgenie', apiKey: process.env.OPSGENIE_API_KEY }
 * ```
 */
export interface OpsgenieChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'opsgenie';
  /** The API key of an API integration, sent as `Authorization: GenieKey <apiKey>`. Never logged. */
  apiKey: string;
  /**
   * Where the alert API is, without `/v2/alerts`: Opsgenie EU
   * `https://api.eu.opsgenie.com`; Jira Service Management
   * `https://api.atlassian.com/jsm/ops/integration`.
   * @default 'https://api.opsgenie.com'
   */
  url?: string;
  /**
   * Priority of an unreachable alert.
   * @default 'P1'
   */
  priority?: OpsgeniePriority;
  /**
   * Priority of an `audit.storage.degraded` (and `audit.records.rejected`)
   * alert. Its escalation to unreachable raises the count of the same alert.
   * @default 'P3'
   */
  degradedPriority?: OpsgeniePriority;
}

/**
 * Posts a card message to a Google Chat space through an incoming webhook;
 * the events of one outage go to one thread, the recovery under its alert.
 *
 * ```ts
 * { type: 'googlechat', url: process.env.GOOGLE_CHAT_WEBHOOK_URL }
 * ```
 */
export interface GoogleChatChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'googlechat';
  /** The webhook URL, `https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…`. Never logged beyond its origin. */
  url: string;
}

/**
 * Posts an embed to a Discord channel through an incoming webhook, colored
 * by severity; nobody can be pinged by the text of an event.
 *
 * ```ts
 * { type: 'discord', url: process.env.DISCORD_WEBHOOK_URL }
 * ```
 */
export interface DiscordChannelOptions extends AuditAlertChannelDeliveryOptions, AuditAlertChannelSummaryOptions {
  readonly type: 'discord';
  /** The webhook URL, `https://discord.com/api/webhooks/<id>/<token>`. Never logged beyond its origin. */
  url: string;
}

/** One entry of the `channels` option: a built-in alert channel. */
export type AuditAlertChannelOptions =
  | WebhookChannelOptions
  | SlackChannelOptions
  | TeamsChannelOptions
  | PagerDutyChannelOptions
  | EmailChannelOptions
  | AlertmanagerChannelOptions
  | OpsgenieChannelOptions
  | GoogleChatChannelOptions
  | DiscordChannelOptions;

/** The `type` of a built-in channel. */
export type AuditAlertChannelType = AuditAlertChannelOptions['type'];

import { AUDIT_ALERT_EVENT_TYPES, type AuditAlertEventType } from '../audit-alert.constants.js';
import { describeKind } from '../audit-alert.messages.js';
import { fail, ownProperties, readDuration, readItems, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type {
  AlertmanagerAuth,
  AuditAlertChannelOptions,
  AuditAlertChannelType,
  OpsgeniePriority,
  PagerDutySeverity,
} from './channel-options.interface.js';
import {
  failSecret,
  MAX_RETRIES,
  OPSGENIE_API_URL,
  quoted,
  readAlertmanagerAuth,
  readAlertmanagerUrl,
  readApiKey,
  readHeaders,
  readPriority,
  readResendInterval,
  readRoutingKey,
  readSeverity,
  readSigningSecrets,
  readUrl,
} from './channel-fields.options.js';
import { readEmailFields, type ResolvedEmailFields } from './email.options.js';

/** How every channel delivers once validated, whatever its protocol. */
interface ResolvedChannelDelivery {
  readonly events: readonly AuditAlertEventType[];
  /** `null`: every monitor. */
  readonly monitors: ReadonlySet<string> | null;
  readonly fromOccurrence: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
}

/** What every channel that POSTs to a URL runs with once validated. */
interface ResolvedChannelBase extends ResolvedChannelDelivery {
  readonly url: string;
}

/** A validated `{ type: 'webhook' }` channel. */
export interface ResolvedWebhookChannel extends ResolvedChannelBase {
  readonly type: 'webhook';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ((event: AuditAlertEvent) => unknown) | null;
  /** The secrets each request is signed with, one `v1` each; empty: not signed. */
  readonly signingSecrets: readonly string[];
}

/** What a channel that writes a headline runs with. */
interface ResolvedSummaryChannel extends ResolvedChannelBase {
  readonly summary: ((event: AuditAlertEvent) => string) | null;
}

/** A validated `{ type: 'slack' }` channel. */
export interface ResolvedSlackChannel extends ResolvedSummaryChannel {
  readonly type: 'slack';
}

/** A validated `{ type: 'teams' }` channel. */
export interface ResolvedTeamsChannel extends ResolvedSummaryChannel {
  readonly type: 'teams';
}

/** A validated `{ type: 'pagerduty' }` channel. */
export interface ResolvedPagerDutyChannel extends ResolvedSummaryChannel {
  readonly type: 'pagerduty';
  readonly routingKey: string;
  readonly severity: PagerDutySeverity;
  readonly degradedSeverity: PagerDutySeverity;
}

/** A validated `{ type: 'email' }` channel. */
export interface ResolvedEmailChannel extends ResolvedChannelDelivery, ResolvedEmailFields {
  readonly type: 'email';
  readonly summary: ((event: AuditAlertEvent) => string) | null;
}

/** A validated `{ type: 'alertmanager' }` channel. */
export interface ResolvedAlertmanagerChannel extends ResolvedSummaryChannel {
  readonly type: 'alertmanager';
  /** The alerts endpoint, `<url>/api/v2/alerts`. */
  readonly url: string;
  readonly auth: AlertmanagerAuth | null;
  readonly resendIntervalMs: number;
  readonly generatorUrl: string | null;
}

/** A validated `{ type: 'opsgenie' }` channel; `url` is the API's base, without a trailing `/`. */
export interface ResolvedOpsgenieChannel extends ResolvedSummaryChannel {
  readonly type: 'opsgenie';
  readonly apiKey: string;
  readonly priority: OpsgeniePriority;
  readonly degradedPriority: OpsgeniePriority;
}

/** A validated `{ type: 'googlechat' }` channel. */
export interface ResolvedGoogleChatChannel extends ResolvedSummaryChannel {
  readonly type: 'googlechat';
}

/** A validated `{ type: 'discord' }` channel. */
export interface ResolvedDiscordChannel extends ResolvedSummaryChannel {
  readonly type: 'discord';
}

/** A channel with every default filled in, as the module runs it. */
export type ResolvedChannelOptions =
  | ResolvedWebhookChannel
  | ResolvedSlackChannel
  | ResolvedTeamsChannel
  | ResolvedPagerDutyChannel
  | ResolvedEmailChannel
  | ResolvedAlertmanagerChannel
  | ResolvedOpsgenieChannel
  | ResolvedGoogleChatChannel
  | ResolvedDiscordChannel;

/** Where PagerDuty's Events API v2 receives events. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** Every built-in channel type. */
export const CHANNEL_TYPES = [
  'webhook',
  'slack',
  'teams',
  'pagerduty',
  'email',
  'alertmanager',
  'opsgenie',
  'googlechat',
  'discord',
] as const satisfies readonly AuditAlertChannelType[];

const DELIVERY_KEYS = ['type', 'events', 'monitors', 'fromOccurrence', 'timeoutMs', 'retries', 'backoffMs'] as const;

const KNOWN_KEYS: Record<AuditAlertChannelOptions['type'], readonly string[]> = {
  webhook: [...DELIVERY_KEYS, 'url', 'headers', 'body', 'signingSecret'],
  slack: [...DELIVERY_KEYS, 'url', 'summary'],
  teams: [...DELIVERY_KEYS, 'url', 'summary'],
  pagerduty: [...DELIVERY_KEYS, 'routingKey', 'severity', 'degradedSeverity', 'url', 'summary'],
  email: [...DELIVERY_KEYS, 'to', 'from', 'cc', 'transport', 'summary'],
  alertmanager: [...DELIVERY_KEYS, 'url', 'auth', 'resendIntervalMs', 'generatorUrl', 'summary'],
  opsgenie: [...DELIVERY_KEYS, 'apiKey', 'url', 'priority', 'degradedPriority', 'summary'],
  googlechat: [...DELIVERY_KEYS, 'url', 'summary'],
  discord: [...DELIVERY_KEYS, 'url', 'summary'],
};

function readEvents(source: Record<string, unknown>, path: string): readonly AuditAlertEventType[] {
  const value = source.events;
  if (value === undefined) return AUDIT_ALERT_EVENT_TYPES;
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((type) => AUDIT_ALERT_EVENT_TYPES.includes(type as AuditAlertEventType));
  if (!valid) fail(`${path}.events`, value, `a non-empty array of ${quoted(AUDIT_ALERT_EVENT_TYPES)}`);
  return [...new Set(value as AuditAlertEventType[])];
}

function readMonitors(
  source: Record<string, unknown>,
  path: string,
  known: readonly string[],
): ReadonlySet<string> | null {
  const value = source.monitors;
  if (value === undefined) return null;
  const valid = Array.isArray(value) && value.length > 0 && value.every((name) => known.includes(name as string));
  if (!valid) fail(`${path}.monitors`, value, `a non-empty array of monitor names: ${quoted(known)}`);
  return new Set(value as string[]);
}

function readFromOccurrence(source: Record<string, unknown>, path: string): number {
  const value = source.fromOccurrence;
  if (value === undefined) return 1;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    fail(`${path}.fromOccurrence`, value, 'a whole number from 1 (the first alert of an outage)');
  }
  return value as number;
}

/** Reads an optional function option, such as `body` or `summary`. */
function readFunction<T extends (...args: never[]) => unknown>(
  source: Record<string, unknown>,
  key: string,
  path: string,
): T | null {
  const value = source[key];
  if (value === undefined) return null;
  if (typeof value !== 'function') fail(`${path}.${key}`, value, 'a function of the event');
  return value as T;
}

function readRetries(source: Record<string, unknown>, path: string): number {
  const value = source.retries;
  if (value === undefined) return 3;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_RETRIES) {
    fail(`${path}.retries`, value, `a whole number from 0 to ${MAX_RETRIES}`);
  }
  return value as number;
}

function resolveChannel(raw: unknown, path: string, monitorNames: readonly string[]): ResolvedChannelOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    failSecret(path, describeKind(raw), `a channel object with a type of ${quoted(CHANNEL_TYPES)}`);
  }
  const source = ownProperties(raw as object);
  const type = source.type as AuditAlertChannelOptions['type'];
  if (!CHANNEL_TYPES.includes(type)) fail(`${path}.type`, source.type, `one of ${quoted(CHANNEL_TYPES)}`);
  rejectUnknownKeys(source, KNOWN_KEYS[type], `${path}.`);
  const delivery = {
    events: readEvents(source, path),
    monitors: readMonitors(source, path, monitorNames),
    fromOccurrence: readFromOccurrence(source, path),
    timeoutMs: readDuration(source, 'timeoutMs', 10_000, { min: 1, path: `${path}.timeoutMs` }),
    retries: readRetries(source, path),
    backoffMs: readDuration(source, 'backoffMs', 1_000, { path: `${path}.backoffMs` }),
  };
  switch (type) {
    case 'webhook':
      return {
        type,
        ...delivery,
        url: readUrl(source, path),
        headers: readHeaders(source, path),
        body: readFunction(source, 'body', path),
        signingSecrets: readSigningSecrets(source, path),
      };
    case 'slack':
    case 'teams':
    case 'googlechat':
    case 'discord':
      return { type, ...delivery, url: readUrl(source, path), summary: readFunction(source, 'summary', path) };
    case 'pagerduty':
      return {
        type,
        ...delivery,
        url: readUrl(source, path, PAGERDUTY_EVENTS_URL),
        summary: readFunction(source, 'summary', path),
        routingKey: readRoutingKey(source, path),
        severity: readSeverity(source, path, 'severity', 'critical'),
        degradedSeverity: readSeverity(source, path, 'degradedSeverity', 'warning'),
      };
    case 'email':
      return { type, ...delivery, ...readEmailFields(source, path), summary: readFunction(source, 'summary', path) };
    case 'alertmanager':
      return {
        type,
        ...delivery,
        url: readAlertmanagerUrl(source, path),
        summary: readFunction(source, 'summary', path),
        auth: readAlertmanagerAuth(source, path),
        resendIntervalMs: readResendInterval(source, path),
        generatorUrl: source.generatorUrl === undefined ? null : readUrl(source, path, undefined, 'generatorUrl'),
      };
    case 'opsgenie':
      return {
        type,
        ...delivery,
        // The base of the API: `/v2/alerts` and the alias follow it.
        url: readUrl(source, path, OPSGENIE_API_URL).replace(/\/+$/, ''),
        summary: readFunction(source, 'summary', path),
        apiKey: readApiKey(source, path),
        priority: readPriority(source, path, 'priority', 'P1'),
        degradedPriority: readPriority(source, path, 'degradedPriority', 'P3'),
      };
  }
}

/**
 * Validates the `channels` option.
 * @param monitorNames The names a channel's `monitors` may list.
 * @throws AuditAlertConfigError naming the first invalid field, such as `channels[1].url`.
 */
export function resolveChannels(
  value: unknown,
  monitorNames: readonly string[],
  path = 'channels',
): readonly ResolvedChannelOptions[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) failSecret(path, describeKind(value), 'an array of channel objects');
  return readItems(value, (channel, index) => resolveChannel(channel, `${path}[${index}]`, monitorNames));
}

/** `true` for a plain `http:` URL whose host is not this machine: alerts would cross the network in clear text. */
export function sendsInClearText(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol !== 'http:') return false;
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
  return !loopback;
}

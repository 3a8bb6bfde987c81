import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AUDIT_ALERT_EVENT_TYPES, type AuditAlertEventType } from '../audit-alert.constants.js';
import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import {
  fail,
  ownProperties,
  readDuration,
  readItems,
  rejectUnknownKeys,
  UNSAFE_KEYS,
} from '../options/option-readers.util.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type {
  AlertmanagerAuth,
  AuditAlertChannelOptions,
  AuditAlertChannelType,
  OpsgeniePriority,
  PagerDutySeverity,
} from './channel-options.interface.js';
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

const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const satisfies readonly PagerDutySeverity[];

const MAX_RETRIES = 10;

/**
 * What `fetch` sends as a header value: a byte string (no code point above
 * U+00FF) without control characters but tab (RFC 9110 `field-value`, DEL
 * included); anything else makes every request of the channel fail.
 */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** RFC 9110 `token`: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers that belong to the HTTP connection or to the request body, not to the receiver. */
const RESERVED_HEADERS = [
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

const quoted = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

/** For values that may be credentials (URLs, keys, header values): say what they are, never what they hold. */
function failSecret(path: string, received: string, allowed: string): never {
  throw new AuditAlertConfigError(invalidSecretOption(path, received, allowed), path);
}

/**
 * Reads the URL at `source[key]`: absolute, `http:` or `https:`, without user
 * information; never quoted in the error, as its path or query may be a secret.
 */
export function readUrl(source: Record<string, unknown>, path: string, fallback?: string, key = 'url'): string {
  const value = source[key];
  if (value === undefined && fallback !== undefined) return fallback;
  const allowed = 'an absolute http:// or https:// URL';
  const at = `${path}.${key}`;
  if (typeof value !== 'string') failSecret(at, describeKind(value), allowed);
  if (!URL.canParse(value)) failSecret(at, `${describeKind(value)} that is not an absolute URL`, allowed);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    failSecret(at, `a URL with the scheme "${url.protocol}"`, allowed);
  }
  if (url.username !== '' || url.password !== '') {
    failSecret(
      at,
      'a URL with user information (user:password@)',
      `${allowed} without it; send credentials in headers`,
    );
  }
  return url.href;
}

/** Reads `source.headers`: valid names, none that HTTP manages itself, values never quoted. */
export function readHeaders(source: Record<string, unknown>, path: string): Readonly<Record<string, string>> {
  const value = source.headers;
  if (value === undefined) return {};
  const allowed = 'an object (or a Map, or Headers) of header names to string values';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    failSecret(`${path}.headers`, describeKind(value), allowed);
  }
  const entries = value instanceof Map || value instanceof Headers ? [...value.entries()] : null;
  if (entries === null && Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    // A class instance (a Set, an http.OutgoingHttpHeaders-like object) would be read as no headers at all.
    failSecret(`${path}.headers`, describeKind(value), allowed);
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of entries ?? Object.entries(ownProperties(value))) {
    // Only the name is ever shown: a value may be a credential, and so may any character of it.
    const headerPath = `${path}.headers[${JSON.stringify(String(name))}]`;
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      fail(headerPath, name, "a header name made of letters, digits and !#$%&'*+.^_`|~-");
    }
    if (RESERVED_HEADERS.includes(name.toLowerCase()) || UNSAFE_KEYS.includes(name)) {
      fail(headerPath, name, `a header other than ${quoted(RESERVED_HEADERS)}, which HTTP itself manages`);
    }
    if (typeof headerValue !== 'string' || !HEADER_VALUE.test(headerValue)) {
      failSecret(
        headerPath,
        typeof headerValue === 'string' ? 'a value fetch cannot send' : describeKind(headerValue),
        'a string of Latin-1 characters (U+0020 to U+00FF, and tab) without control characters, which fetch can send',
      );
    }
    headers[name] = headerValue;
  }
  return headers;
}

/** Shortest signing secret: an HMAC key much shorter than its hash is easy to guess. */
export const MIN_SIGNING_SECRET_LENGTH = 16;
/** Most signing secrets at once: the current one and those still being rotated out. */
const MAX_SIGNING_SECRETS = 5;

/** Reads `source.signingSecret`: a secret, or several while they rotate; never quoted in the error. */
function readSigningSecrets(source: Record<string, unknown>, path: string): readonly string[] {
  const value = source.signingSecret;
  if (value === undefined) return [];
  const at = `${path}.signingSecret`;
  const allowed =
    `a string of at least ${MIN_SIGNING_SECRET_LENGTH} characters, or an array of 1 to ${MAX_SIGNING_SECRETS} ` +
    'different ones while secrets rotate';
  const secrets: unknown[] = Array.isArray(value) ? value : [value];
  if (secrets.length === 0 || secrets.length > MAX_SIGNING_SECRETS) {
    failSecret(at, `an array of ${secrets.length} secrets`, allowed);
  }
  secrets.forEach((secret, index) => {
    const where = Array.isArray(value) ? `${at}[${index}]` : at;
    if (typeof secret !== 'string') failSecret(where, describeKind(secret), allowed);
    if (secret.length < MIN_SIGNING_SECRET_LENGTH) {
      failSecret(where, `a string of ${secret.length} characters`, allowed);
    }
  });
  if (new Set(secrets).size !== secrets.length) failSecret(at, 'the same secret twice', allowed);
  return secrets as string[];
}

/** Where Opsgenie's alert API is (US instance); `/v2/alerts` follows. */
export const OPSGENIE_API_URL = 'https://api.opsgenie.com';

const PRIORITIES = ['P1', 'P2', 'P3', 'P4', 'P5'] as const satisfies readonly OpsgeniePriority[];

function readApiKey(source: Record<string, unknown>, path: string): string {
  const value = source.apiKey;
  // It goes in a header: a character fetch cannot send would fail every request.
  if (typeof value !== 'string' || value.trim() === '' || !HEADER_VALUE.test(value)) {
    failSecret(
      `${path}.apiKey`,
      typeof value === 'string' && value.trim() !== '' ? 'a key fetch cannot send in a header' : describeKind(value),
      'the non-empty API key of an Opsgenie (or Jira Service Management) API integration',
    );
  }
  return value;
}

function readPriority(
  source: Record<string, unknown>,
  path: string,
  key: 'priority' | 'degradedPriority',
  fallback: OpsgeniePriority,
): OpsgeniePriority {
  const value = source[key];
  if (value === undefined) return fallback;
  if (!PRIORITIES.includes(value as OpsgeniePriority)) fail(`${path}.${key}`, value, `one of ${quoted(PRIORITIES)}`);
  return value as OpsgeniePriority;
}

function readRoutingKey(source: Record<string, unknown>, path: string): string {
  const value = source.routingKey;
  if (typeof value !== 'string' || value.trim() === '') {
    failSecret(
      `${path}.routingKey`,
      describeKind(value),
      'the non-empty integration key of a PagerDuty Events API v2 integration',
    );
  }
  return value;
}

function readSeverity(
  source: Record<string, unknown>,
  path: string,
  key: 'severity' | 'degradedSeverity',
  fallback: PagerDutySeverity,
): PagerDutySeverity {
  const value = source[key];
  if (value === undefined) return fallback;
  if (!SEVERITIES.includes(value as PagerDutySeverity)) fail(`${path}.${key}`, value, `one of ${quoted(SEVERITIES)}`);
  return value as PagerDutySeverity;
}

/** The path of Alertmanager's API that receives alerts, under its base URL. */
export const ALERTMANAGER_ALERTS_PATH = 'api/v2/alerts';

/** Alertmanager's default `resolve_timeout`; a re-send interval must stay below it. */
const ALERTMANAGER_RESEND_RANGE = { min: 1_000, max: 240_000 } as const;

/** Reads Alertmanager's base URL and turns it into its alerts endpoint, keeping a path prefix. */
function readAlertmanagerUrl(source: Record<string, unknown>, path: string): string {
  const base = new URL(readUrl(source, path));
  if (base.search !== '' || base.hash !== '') {
    failSecret(
      `${path}.url`,
      'a URL with a query or a fragment',
      'the base URL of Alertmanager, such as http://alertmanager:9093',
    );
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(ALERTMANAGER_ALERTS_PATH, base).href;
}

/** A credential sent in a header: non-empty, and nothing fetch cannot send. */
function readCredential(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || !HEADER_VALUE.test(value)) {
    failSecret(
      path,
      typeof value === 'string' && value !== '' ? 'a value fetch cannot send' : describeKind(value),
      'a non-empty string of Latin-1 characters without control characters',
    );
  }
  return value;
}

function readAlertmanagerAuth(source: Record<string, unknown>, path: string): AlertmanagerAuth | null {
  const value = source.auth;
  if (value === undefined) return null;
  const allowed = 'an object { username, password } (basic) or { bearer } (a token)';
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    failSecret(`${path}.auth`, describeKind(value), allowed);
  const auth = ownProperties(value);
  if ('bearer' in auth) {
    rejectUnknownKeys(auth, ['bearer'], `${path}.auth.`);
    return { bearer: readCredential(auth.bearer, `${path}.auth.bearer`) };
  }
  rejectUnknownKeys(auth, ['username', 'password'], `${path}.auth.`);
  const username = readCredential(auth.username, `${path}.auth.username`);
  if (username.includes(':'))
    failSecret(`${path}.auth.username`, 'a string holding ":"', 'a user name without ":" (HTTP basic)');
  return { username, password: readCredential(auth.password, `${path}.auth.password`) };
}

function readResendInterval(source: Record<string, unknown>, path: string): number {
  const value = source.resendIntervalMs;
  if (value === undefined) return 60_000;
  const { min, max } = ALERTMANAGER_RESEND_RANGE;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(
      `${path}.resendIntervalMs`,
      value,
      `a number of milliseconds from ${min} to ${max}, below Alertmanager's resolve_timeout (5 minutes unless configured)`,
    );
  }
  return value;
}

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

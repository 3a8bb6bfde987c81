import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import { fail, ownProperties, rejectUnknownKeys, UNSAFE_KEYS } from '../options/option-readers.util.js';
import type { AlertmanagerAuth, OpsgeniePriority, PagerDutySeverity } from './channel-options.interface.js';

/*
 * The readers of the fields a channel's service defines (URLs, headers,
 * secrets, keys, severities, priorities, Alertmanager's auth and re-send): each
 * checks one field and throws an AuditAlertConfigError naming the option; a
 * value that may be a secret is described, never quoted.
 */

const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const satisfies readonly PagerDutySeverity[];

export const MAX_RETRIES = 10;

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

export const quoted = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

/** For values that may be credentials (URLs, keys, header values): say what they are, never what they hold. */
export function failSecret(path: string, received: string, allowed: string): never {
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
const MIN_SIGNING_SECRET_LENGTH = 16;
/** Most signing secrets at once: the current one and those still being rotated out. */
const MAX_SIGNING_SECRETS = 5;

/** Reads `source.signingSecret`: a secret, or several while they rotate; never quoted in the error. */
export function readSigningSecrets(source: Record<string, unknown>, path: string): readonly string[] {
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

export function readApiKey(source: Record<string, unknown>, path: string): string {
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

export function readPriority(
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

export function readRoutingKey(source: Record<string, unknown>, path: string): string {
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

export function readSeverity(
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
const ALERTMANAGER_ALERTS_PATH = 'api/v2/alerts';

/** Alertmanager's default `resolve_timeout`; a re-send interval must stay below it. */
const ALERTMANAGER_RESEND_RANGE = { min: 1_000, max: 240_000 } as const;

/** Reads Alertmanager's base URL and turns it into its alerts endpoint, keeping a path prefix. */
export function readAlertmanagerUrl(source: Record<string, unknown>, path: string): string {
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

export function readAlertmanagerAuth(source: Record<string, unknown>, path: string): AlertmanagerAuth | null {
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

export function readResendInterval(source: Record<string, unknown>, path: string): number {
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

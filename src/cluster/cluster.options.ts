import { hostname } from 'node:os';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import {
  fail,
  MAX_TIMER_MS,
  ownProperties,
  readDuration,
  readItems,
  readObject,
  readString,
  rejectUnknownKeys,
} from '../options/option-readers.util.js';
import type {
  AuditAlertClusterOptions,
  AuditAlertRedisClient,
  AuditAlertRedisConnectionOptions,
} from './cluster-options.interface.js';

/**
 * Where the replicas meet: a client given by the application, or what to
 * create one from: a URL completed by ioredis options (none for a bare URL),
 * or options alone (a host, or Sentinels).
 */
export type ResolvedRedisTarget =
  | { readonly kind: 'client'; readonly client: AuditAlertRedisClient }
  | { readonly kind: 'url'; readonly url: string; readonly options: AuditAlertRedisConnectionOptions }
  | { readonly kind: 'options'; readonly options: AuditAlertRedisConnectionOptions };

/** The `cluster` option with its defaults filled in. */
export interface ResolvedClusterOptions {
  readonly redis: ResolvedRedisTarget;
  readonly keyPrefix: string;
  readonly replicaId: string;
  readonly timeoutMs: number;
  readonly leaseMs: number;
}

const CLUSTER_KEYS = [
  'redis',
  'keyPrefix',
  'replicaId',
  'timeoutMs',
  'leaseMs',
] as const satisfies readonly (keyof AuditAlertClusterOptions)[];

/** The lease of an alert claim when `cluster.leaseMs` is not given (longer when `timeoutMs` demands it). */
const DEFAULT_LEASE_MS = 5_000;

const REDIS_ALLOWED = 'a redis:// or rediss:// URL, ioredis connection options, or an ioredis client';

/** A `redis://` or `rediss://` URL; it may carry a password, so an error describes it and never shows it. */
function readUrl(value: unknown, path: string, allowed: string): string {
  let protocol: string | null = null;
  if (typeof value === 'string') {
    try {
      protocol = new URL(value).protocol;
    } catch {
      // Reported below.
    }
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new AuditAlertConfigError(invalidSecretOption(path, describeKind(value), allowed), path);
  }
  return value as string;
}

function requireString(value: unknown, path: string, allowed: string): void {
  if (typeof value !== 'string' || value.trim() === '') fail(path, value, allowed);
}

function readPort(source: Record<string, unknown>, path: string): void {
  const port = source.port;
  if (port !== undefined && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535)) {
    fail(path, port, 'an integer from 1 to 65535');
  }
}

/** Options whose TLS settings ioredis hands to Node's `tls.connect()`: an object, never `true` or a string. */
function readTlsOptions(source: Record<string, unknown>, key: string, path: string): void {
  const value = source[key];
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    fail(path, value, "an object of Node's TLS options, such as { ca }");
  }
}

function readSentinels(value: unknown, path: string): void {
  if (!Array.isArray(value) || value.length === 0) {
    fail(path, value, 'a non-empty array of { host, port } addresses of Sentinels');
  }
  readItems(value, (item, index) => {
    const sentinel = readObject(item, `${path}[${index}]`);
    requireString(sentinel.host, `${path}[${index}].host`, 'a non-empty string');
    readPort(sentinel, `${path}[${index}].port`);
  });
}

/**
 * Checks the connection options the module knows of (the rest pass through to
 * ioredis as they are) and returns them without `url`, which ioredis takes
 * apart from its options. The application's object is never copied deeply:
 * it may hold Buffers (a CA) and functions (a retry strategy).
 */
function readConnectionOptions(value: object, path: string): ResolvedRedisTarget {
  const source = ownProperties(value);
  const { url, ...options } = value as AuditAlertRedisConnectionOptions;
  if (url !== undefined) readUrl(url, `${path}.url`, 'a redis:// or rediss:// URL');
  for (const key of ['host', 'username'] as const) {
    if (source[key] !== undefined) requireString(source[key], `${path}.${key}`, 'a non-empty string');
  }
  readPort(source, `${path}.port`);
  if (source.password !== undefined && typeof source.password !== 'string') {
    throw new AuditAlertConfigError(
      invalidSecretOption(`${path}.password`, describeKind(source.password), 'a string'),
      `${path}.password`,
    );
  }
  const db = source.db;
  if (db !== undefined && (!Number.isInteger(db) || (db as number) < 0)) fail(`${path}.db`, db, 'an integer from 0');
  readTlsOptions(source, 'tls', `${path}.tls`);
  readTlsOptions(source, 'sentinelTLS', `${path}.sentinelTLS`);
  if (source.role !== undefined && source.role !== 'master') {
    fail(`${path}.role`, source.role, "'master' (the replicas write their claims)");
  }
  if (source.sentinels === undefined) {
    if (source.name !== undefined) fail(`${path}.name`, source.name, `nothing without ${path}.sentinels`);
  } else {
    readSentinels(source.sentinels, `${path}.sentinels`);
    // The Sentinels give the master's address: one given here as well would be ignored.
    for (const key of ['url', 'host', 'port'] as const) {
      if (source[key] !== undefined) {
        throw new AuditAlertConfigError(
          invalidSecretOption(`${path}.${key}`, describeKind(source[key]), `nothing with ${path}.sentinels`),
          `${path}.${key}`,
        );
      }
    }
    requireString(source.name, `${path}.name`, 'the name of the master the Sentinels monitor, a non-empty string');
  }
  return url === undefined ? { kind: 'options', options } : { kind: 'url', url, options };
}

function resolveRedis(value: unknown): ResolvedRedisTarget {
  const path = 'cluster.redis';
  if (typeof value === 'string') return { kind: 'url', url: readUrl(value, path, REDIS_ALLOWED), options: {} };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    if (typeof (value as { eval?: unknown }).eval === 'function') {
      return { kind: 'client', client: value as AuditAlertRedisClient };
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) return readConnectionOptions(value, path);
  }
  throw new AuditAlertConfigError(invalidSecretOption(path, describeKind(value), REDIS_ALLOWED), path);
}

/** A brace in the prefix would move the `{…}` hash tag that keeps a monitor's keys in one Redis Cluster slot. */
function readKeyPrefix(cluster: Record<string, unknown>): string {
  const prefix = readString(cluster, 'keyPrefix', 'audit-alert', 'cluster.keyPrefix');
  if (/[{}]/.test(prefix)) fail('cluster.keyPrefix', prefix, 'a non-empty string without "{" or "}"');
  return prefix;
}

/** The shortest lease: renewals every third of it must outrun a busy event loop. */
const MIN_LEASE_MS = 1_000;

/** How many Redis round trips at `timeoutMs` a lease outlasts at least, so that a slow renewal still lands in time. */
const LEASE_ROUND_TRIPS = 3;

/**
 * The lease of an alert claim: at least {@link MIN_LEASE_MS}, and longer than
 * {@link LEASE_ROUND_TRIPS} round trips at `timeoutMs`, since a claimer renews
 * every third of it and each renewal may take up to `timeoutMs`.
 */
function readLeaseMs(cluster: Record<string, unknown>, timeoutMs: number): number {
  const min = Math.max(MIN_LEASE_MS, LEASE_ROUND_TRIPS * timeoutMs);
  const allowed =
    `a finite number of milliseconds from ${min} to ${MAX_TIMER_MS} ` +
    `(at least ${MIN_LEASE_MS}, and at least ${LEASE_ROUND_TRIPS} × cluster.timeoutMs of ${timeoutMs})`;
  return readDuration(cluster, 'leaseMs', Math.max(DEFAULT_LEASE_MS, min), { min, path: 'cluster.leaseMs', allowed });
}

/**
 * Validates the `cluster` option; `null` when it is absent.
 * @throws AuditAlertConfigError naming the first invalid field.
 */
export function resolveClusterOptions(raw: unknown): ResolvedClusterOptions | null {
  if (raw === undefined) return null;
  const cluster = readObject(raw, 'cluster');
  rejectUnknownKeys(cluster, CLUSTER_KEYS, 'cluster.');
  const redis = resolveRedis(cluster.redis);
  const keyPrefix = readKeyPrefix(cluster);
  const replicaId = readString(cluster, 'replicaId', `${hostname()}:${process.pid}`, 'cluster.replicaId');
  const timeoutMs = readDuration(cluster, 'timeoutMs', 500, { min: 1, path: 'cluster.timeoutMs' });
  return {
    redis,
    keyPrefix,
    replicaId,
    timeoutMs,
    leaseMs: readLeaseMs(cluster, timeoutMs),
  };
}

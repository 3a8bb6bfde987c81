import { hostname } from 'node:os';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import {
  fail,
  MAX_TIMER_MS,
  readDuration,
  readObject,
  readString,
  rejectUnknownKeys,
} from '../options/option-readers.util.js';
import type {
  AuditAlertClusterOptions,
  AuditAlertRedisClient,
  AuditAlertRedisConnectionOptions,
} from './cluster-options.interface.js';

/** Where the replicas meet: a client given by the application, or what to create one from. */
export type ResolvedRedisTarget =
  | { readonly kind: 'client'; readonly client: AuditAlertRedisClient }
  | { readonly kind: 'url'; readonly url: string }
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

function resolveRedis(value: unknown): ResolvedRedisTarget {
  const path = 'cluster.redis';
  if (typeof value === 'string') {
    // The URL may carry a password: the message describes it and never shows it.
    let protocol: string | null = null;
    try {
      protocol = new URL(value).protocol;
    } catch {
      // Reported below.
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new AuditAlertConfigError(invalidSecretOption(path, describeKind(value), REDIS_ALLOWED), path);
    }
    return { kind: 'url', url: value };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    if (typeof (value as { eval?: unknown }).eval === 'function') {
      return { kind: 'client', client: value as AuditAlertRedisClient };
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) {
      return { kind: 'options', options: value as AuditAlertRedisConnectionOptions };
    }
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

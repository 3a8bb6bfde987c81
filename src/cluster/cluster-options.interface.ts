/**
 * The part of a Redis client the module uses: an ioredis `Redis` instance fits.
 * A client passed in is used as it is and never closed by the module.
 */
export interface AuditAlertRedisClient {
  /** Runs a Lua script (Redis `EVAL`). */
  eval(script: string, numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  /**
   * ioredis' connection state; a command is not even tried unless it is
   * `'ready'`, so that nothing waits in an offline queue and runs late.
   */
  readonly status?: string;
}

/** One Sentinel of a group that watches the Redis master (`sentinels` in {@link AuditAlertRedisConnectionOptions}). */
export interface AuditAlertRedisSentinelAddress {
  host: string;
  /** @default 26379 */
  port?: number;
}

/**
 * Connection options of an ioredis client (`RedisOptions`), for the client the
 * module creates and closes itself. Any other ioredis option passes through as
 * it is; those below are checked at boot.
 *
 * - A standalone Redis: `host`, `port`, or `url`.
 * - Behind Sentinel: `sentinels` and `name` (the master's name in the
 *   Sentinels' configuration); the Sentinels give the master's address, and
 *   the client follows a failover to the replica they promote.
 * - TLS: a `rediss://` `url`, or `tls`, with `tls: { ca }` for a private CA
 *   (`sentinelTLS` and `enableTLSForSentinelMode` for Sentinels that speak TLS).
 */
export interface AuditAlertRedisConnectionOptions {
  /**
   * A `redis://` or `rediss://` URL that the other options complete, as in
   * `new Redis(url, options)`; not with `sentinels`.
   */
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  /** TLS options of Node's `tls.connect()`, such as `{ ca }` to trust a private CA. */
  tls?: Record<string, unknown>;
  /** The Sentinels to ask for the master's address, instead of `host`, `port` or `url`. */
  sentinels?: AuditAlertRedisSentinelAddress[];
  /** Name of the master the `sentinels` watch (`sentinel monitor <name> …`); required with `sentinels`. */
  name?: string;
  /**
   * Which node of the Sentinel group to use: only `'master'`, since the
   * replicas write their claims.
   * @default 'master'
   */
  role?: 'master';
  [option: string]: unknown;
}

/**
 * Alert deduplication across the replicas of one service, through Redis.
 *
 * Replicas with the same `serviceName` share, for each monitor name, one
 * outage: the first replica to open it in Redis gives it its `outageId` and
 * every replica adopts it; at most one `audit.storage.unreachable` goes out per
 * `cooldownMs` across them all, and one `audit.storage.recovered` when it ends.
 * Every other event of a monitor (degraded and capacity warnings, records
 * rejected, the spool's) goes out once per `cooldownMs` across them all too,
 * sent by the replica that claims it, with that replica's own figures.
 * Redis is asked only when an outage opens, an event is due or an outage ends.
 *
 * When Redis does not answer within `timeoutMs`, a replica sends on its own
 * and logs it: an alert is never lost to coordination, a duplicate is possible.
 */
export interface AuditAlertClusterOptions {
  /**
   * The Redis the replicas share: an ioredis client (used as is, never closed
   * by the module), a `redis://` or `rediss://` URL, or ioredis connection
   * options (a Sentinel group, TLS, an ACL user: see
   * {@link AuditAlertRedisConnectionOptions}). From a URL or options the module creates its own client, with
   * `ioredis` loaded only then (an optional peer dependency: `npm install ioredis`),
   * and closes it at shutdown.
   */
  redis: AuditAlertRedisClient | string | AuditAlertRedisConnectionOptions;
  /**
   * Start of every key the module writes:
   * `<keyPrefix>:{<serviceName>:<monitor>}:outage…`; the `{…}` hash tag keeps
   * the keys of one monitor in one slot of a Redis Cluster. Without `{` or `}`.
   * @default 'audit-alert'
   */
  keyPrefix?: string;
  /**
   * Names this replica in Redis (who claimed an alert) and in log messages.
   * @default `<hostname>:<pid>`
   */
  replicaId?: string;
  /**
   * Longest wait for one Redis command; past it the replica decides alone.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * How long a replica's claim to send an alert holds unless it renews it. The
   * claimer renews it every `leaseMs / 3` while its delivery runs, however
   * long its channels retry; when the claimer dies or hangs, the claim lapses
   * within `leaseMs` and another replica sends the alert (same `outageId`
   * and `occurrence`). The death of a claimer so delays an alert by at most
   * `leaseMs` plus one Redis round trip. At least 1000, and at least
   * `3 × timeoutMs`.
   * @default 5000 (or `3 × timeoutMs` when that is longer)
   */
  leaseMs?: number;
}

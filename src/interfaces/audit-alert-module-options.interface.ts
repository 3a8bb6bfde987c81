import type { AuditAlertLink } from '../channels/channel-link-options.interface.js';
import type { AuditErrorClassifier } from '../tracker/error-class.util.js';
import type { AuditStorageCapacityOptions } from '../capacity/capacity-options.interface.js';
import type { AuditSpoolOptions } from '../spool/spool-options.interface.js';
import type { AuditAlertChannelOptions } from '../channels/channel-options.interface.js';
import type { AuditAlertClusterOptions } from '../cluster/cluster-options.interface.js';
import type { AuditAlertHeartbeatOptions } from '../heartbeat/heartbeat-options.interface.js';
import type { AuditAlertStateOptions } from '../state/state-options.interface.js';
import type { AuditLedgerOptions } from '../ledger/ledger-options.interface.js';
import type { AuditGapRecordWriter } from '../gap/gap-record-options.interface.js';
import type { AuditScheduledTestAlertOptions } from '../test-alert/audit-test-alert.interface.js';

/**
 * An active check of the audit storage, run while an outage is open so that a
 * recovery is noticed even when the application writes nothing.
 */
export interface AuditStorageProbeOptions {
  /** Resolves when the storage answers; rejects (or throws) when it does not. */
  check: () => unknown;
  /**
   * Time between the end of one check and the start of the next; checks never overlap.
   * @default 5_000
   */
  intervalMs?: number;
  /**
   * A check still running after this long counts as a failure.
   * @default 5_000
   */
  timeoutMs?: number;
}

/** Partial-failure detection: when a share of the writes fails over a sliding window. */
export interface DegradedDetectionOptions {
  /**
   * Share of the window's writes that must have failed for
   * `audit.storage.degraded`; the degraded period ends once the share has
   * stayed below half of it for a window.
   * @default 0.5
   */
  ratio?: number;
  /**
   * Length of the sliding window, in milliseconds (at least 10).
   * @default thresholdMs, at least 1_000
   */
  windowMs?: number;
  /**
   * Fewest writes in the window for its ratio to count.
   * @default 10
   */
  minWrites?: number;
}

/** What every monitor can set for itself; at the top level, the defaults of all monitors. */
export interface AuditMonitorSettings {
  /**
   * `false` keeps the monitor answering (`track()`, `getStatus()`) but never
   * sends an alert.
   * @default true
   */
  enabled?: boolean;
  /**
   * How long the storage must keep failing, with no success since the first
   * failure, before the first alert. `0` alerts on the first failure.
   * @default 30_000
   */
  thresholdMs?: number;
  /**
   * Least time between two alerts of the same outage.
   * @default 300_000
   */
  cooldownMs?: number;
  /**
   * Send `audit.storage.recovered` when an outage that was alerted on ends.
   * @default true
   */
  notifyRecovery?: boolean;
  /**
   * Checks the storage actively while an outage is open: a passing check
   * counts as a success, a failing one as a failure.
   * @default undefined (no probe)
   */
  probe?: AuditStorageProbeOptions;
  /**
   * Run the probe while healthy too, so an outage is noticed without a write.
   * @default false
   */
  probeWhileHealthy?: boolean;
  /**
   * A write passed to `track()` still pending after this long counts as a
   * failure that began when the write started (an `AuditWriteTimeoutError`),
   * so storage that hangs instead of failing is alerted on. The write is not
   * cancelled; its later outcome is recorded as usual. `false`: no limit.
   * @default thresholdMs, kept between 1_000 and 10_000
   */
  writeTimeoutMs?: number | false;
  /**
   * Warns through `audit.storage.capacity` when the storage fills past
   * `warnAt` (and `criticalAt`), before it fails (AU-5(1)).
   * @default undefined (no capacity watch)
   */
  capacity?: AuditStorageCapacityOptions;
  /**
   * Says which failed writes mean the storage failed (`'storage'`: they feed
   * the outage), which mean the storage answered but refused this record
   * (`'record'`: a constraint, a value, a permission; counted as lost records,
   * `audit.records.rejected` when they persist, never an outage) and which to
   * leave out (`'ignore'`). A classifier that throws or answers anything else
   * counts the failure as `'storage'`. Built in: `postgresErrorClassifier`,
   * `mysqlErrorClassifier`, `prismaErrorClassifier`, `mongoErrorClassifier`.
   * @default undefined (every failure is `'storage'`)
   */
  classify?: AuditErrorClassifier;
  /**
   * Sends `audit.storage.degraded` when, over a sliding window, at least
   * `minWrites` writes were attempted and at least `ratio` of them failed: the
   * outage a rare success would otherwise end before the threshold. `false`
   * turns it off. A field a monitor's object leaves out comes from the top
   * level's object, else from the defaults.
   * @default { ratio: 0.5, windowMs: thresholdMs (at least 1_000), minWrites: 10 }
   */
  degraded?: DegradedDetectionOptions | false;
  /**
   * After an alerted outage sees a success, announce the recovery only once no
   * failure has been recorded for this long; a failure within the hold
   * continues the same outage (same `outageId`, no new first alert). Raise it
   * for a storage that flaps, so one incident is paged and resolved once.
   * @default 0 (recovery announced on the first success)
   */
  recoveryHoldMs?: number;
  /**
   * An alternate audit log (AU-5(5)): the records of writes that fail (or hang
   * past `writeTimeoutMs`) are kept on local disk and replayed once the storage
   * recovers. Pass the record with `track(op, { record })`.
   * @default undefined (no spool)
   */
  spool?: AuditSpoolOptions;
  /**
   * Links sent with every alert of the monitor, such as its runbook and its
   * dashboard: buttons in Slack, Teams, Google Chat and Discord, links of the
   * PagerDuty incident, lines of the Opsgenie alert, a `links` field of the
   * webhook body. At most 5; each URL absolute, `https:` or `http:`, at most 2,000 characters, without
   * `user:password@`. A monitor's own list replaces the top level's.
   * @default []
   */
  links?: readonly AuditAlertLink[];
  /**
   * Writes "audit logging was interrupted from … to …" into the application's
   * own audit trail (PCI DSS 10.2.1.6, NIST AU-9): called once per alerted
   * outage after its recovery, and, with a `spool`, after the replay has
   * finished. A failure (a rejection, a throw, or no answer within
   * `hookTimeoutMs`) is tried again, backing off from 1 s to 5 min; pending
   * gap records survive a restart in the `state` file, in Redis under
   * `cluster`, else in the spool's directory (memory only without any).
   * At least once: insert idempotently on `outageId`. Each outcome is recorded
   * in the evidence ledger. Needs `notifyRecovery`.
   *
   * ```ts
   * gapRecord: (gap) => pool.query(
   *   'INSERT INTO audit_gaps (outage_id, from_at, to_at) VALUES ($1, $2, $3) ON CONFLICT (outage_id) DO NOTHING',
   *   [gap.outageId, gap.from, gap.to]),
   * ```
   * @default undefined (no gap record)
   */
  gapRecord?: AuditGapRecordWriter;
}

/** One monitor of `monitors`: a name, and settings that override the top-level ones. */
export interface AuditMonitorOptions extends AuditMonitorSettings {
  /**
   * Carried in every event as `monitor`, and names the monitor's spool
   * subdirectory: letters, digits, `_`, `-`, `.` or `:`, at most 64, starting
   * with a letter or a digit.
   */
  name: string;
}

/**
 * Options of `AuditAlertModule.forRoot()` and of the factory given to
 * `forRootAsync()`. Every option is validated when the application starts.
 */
export interface AuditAlertModuleOptions extends AuditMonitorSettings {
  /**
   * Name of the service, carried in every event.
   * @default process.env.OTEL_SERVICE_NAME, else 'unknown_service:node'
   */
  serviceName?: string;
  /**
   * A call of a hook still running after this long is abandoned and logged.
   * @default 10_000
   */
  hookTimeoutMs?: number;
  /**
   * How long application shutdown waits for alert deliveries in flight.
   * @default 5_000
   */
  shutdownTimeoutMs?: number;
  /**
   * Several audit stores, each watched on its own with its own state, timers
   * and outage ids; each inherits the top-level settings. `AuditStorageMonitor`
   * is the one named `'default'`, else the first.
   * @default [{ name: 'default' }]
   */
  monitors?: AuditMonitorOptions[];
  /**
   * Built-in alert channels: a generic webhook, Slack, Microsoft Teams, PagerDuty, Opsgenie (or
   * Jira Service Management), Google Chat, Discord. Each is
   * called like a hook, retries on its own (so it is never abandoned after
   * `hookTimeoutMs`), and is waited for at shutdown up to `shutdownTimeoutMs`.
   *
   * ```ts
   * channels: [
   *   { type: 'slack', url: process.env.SLACK_WEBHOOK_URL },
   *   { type: 'pagerduty', routingKey: process.env.PAGERDUTY_ROUTING_KEY },
   * ]
   * ```
   * @default []
   */
  channels?: AuditAlertChannelOptions[];
  /**
   * Record OpenTelemetry metrics (storage failures and successes, alerts sent,
   * failed deliveries, the state of each monitor) through `@opentelemetry/api`.
   * They are recorded only when that package is installed and a MeterProvider
   * is registered before the application starts; otherwise, and with `false`,
   * nothing is loaded and the write path pays nothing.
   * @default true
   */
  metrics?: boolean;
  /**
   * Longest silence `AuditMonitorRegistry.silence()` accepts: every silence
   * ends, so a forgotten one cannot hide an outage for good.
   * @default 86_400_000 (24 hours)
   */
  maxSilenceMs?: number;
  /**
   * Deduplicates alerts across the replicas of the service through a Redis
   * they share: for each monitor, one `outageId` for all of them, at most one
   * `audit.storage.unreachable` per `cooldownMs` and one `audit.storage.recovered`
   * across the cluster. A replica that cannot reach Redis within `timeoutMs`
   * alerts on its own (and logs it): a duplicate is possible, a lost alert is not.
   * `ioredis` is loaded only when this is set.
   *
   * ```ts
   * cluster: { redis: process.env.REDIS_URL } // redis://…, options, or an ioredis client
   * ```
   * @default undefined (every replica alerts on its own)
   */
  cluster?: AuditAlertClusterOptions;
  /**
   * A dead man's switch for the monitor itself: pings `url` every
   * `intervalMs` while no monitor is alerting, and `failUrl` (or nothing)
   * while one is, so an external service (healthchecks.io, an Uptime Kuma
   * push monitor…) pages when the process dies, hangs, or cannot alert.
   *
   * ```ts
   * heartbeat: { url: `https://hc-ping.com/${uuid}`, failUrl: `https://hc-ping.com/${uuid}/fail` }
   * ```
   * @default undefined (no heartbeat)
   */
  heartbeat?: AuditAlertHeartbeatOptions;
  /**
   * Keeps the open outage of each monitor in a file, so that a single
   * instance restarted or killed mid-outage continues it (same `outageId`, no
   * new threshold, repeats a cooldown after the last alert) and announces its
   * recovery, which resolves the incident opened before. With `cluster`,
   * Redis keeps them and this must be left unset.
   *
   * Without either, a restart forgets the outage; PagerDuty incidents are
   * then keyed per monitor, and the first success after a start resolves the
   * one an earlier process may have left open (hooks and other channels are
   * not told).
   *
   * ```ts
   * state: { file: '/var/lib/ledger-api/audit-alert-state.json' }
   * ```
   * @default undefined (nothing survives a restart without `cluster`)
   */
  state?: AuditAlertStateOptions;
  /**
   * Keeps the evidence an auditor asks for: an append-only, hash-chained JSON
   * Lines ledger of each event sent or held, each delivery's receipt and the
   * configuration at each boot, one file per UTC day, pruned past
   * `retentionDays`. With `cluster`, also mirrored to a Redis Stream so that an
   * export from any replica covers the fleet. See docs/evidence-ledger.md.
   *
   * ```ts
   * ledger: { directory: '/var/lib/ledger-api/audit-ledger' }
   * ```
   * @default undefined (no ledger)
   */
  ledger?: AuditLedgerOptions;
  /**
   * Sends the test alert (`audit.alert.test`) every `intervalMs`, as
   * `AuditMonitorRegistry.sendTestAlert()` does on request, so that a dead
   * Teams flow or a rotated PagerDuty key is found before the outage that
   * needed it. A recipient that fails raises `audit.alert.test.failed` to the
   * other recipients (never back to one that failed in the same round) and an
   * error log line naming it and why. Each receipt is recorded like any other.
   *
   * ```ts
   * testAlert: { intervalMs: 24 * 60 * 60 * 1000 } // daily
   * ```
   * @default undefined (no scheduled test)
   */
  testAlert?: AuditScheduledTestAlertOptions;
}

/**
 * Extra options of `forRoot()`/`forRootAsync()` that shape the module itself.
 */
export interface AuditAlertModuleExtras {
  /**
   * Register the module globally, so `AuditStorageMonitor` can be injected anywhere.
   * @default true
   */
  isGlobal?: boolean;
}

/**
 * Implemented by a class given to `forRootAsync({ useClass })` or
 * `forRootAsync({ useExisting })`.
 */
export interface AuditAlertOptionsFactory {
  /** Returns the module options, or a promise of them. */
  createAuditAlertOptions(): AuditAlertModuleOptions | Promise<AuditAlertModuleOptions>;
}

import type { Redis, RedisOptions } from 'ioredis';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import {
  alertRaised,
  clusterAcknowledgedRepeat,
  clusterDecisionFailed,
  clusterLeaseLost,
  clusterLeftToOthers,
  clusterNeedsIoredis,
  clusterReachable,
  clusterSentAlone,
  clusterTookOver,
  clusterUnreachable,
  connectionStatusReason,
  timeoutReason,
} from '../audit-alert.messages.js';
import type { ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import { systemClock } from '../clock/system.clock.js';
import type { AuditAlertRedisClient } from './cluster-options.interface.js';
import type { ResolvedClusterOptions } from './cluster.options.js';
import { MonitorAlertCoordinator } from './monitor-alert.coordinator.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';

/**
 * Settings of the client the module creates, under those the application
 * gives. A replica must never wait for Redis, nor have a claim run late:
 * without a connection a command fails at once instead of being queued, and
 * reconnection is attempted at least every second.
 */
const CLIENT_DEFAULTS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
};

/**
 * The Redis side of alert coordination for the whole module: one connection,
 * shared by a {@link MonitorAlertCoordinator} per monitor. Every command is
 * bounded by `timeoutMs` (on real time: it measures the network, not the
 * monitor's clock); any failure is the caller's cue to decide alone.
 */
export class RedisAlertCoordinator implements RedisAlertLink {
  private readonly logger = new AuditAlertLogger();
  private connecting: Promise<AuditAlertRedisClient> | null = null;
  /** The client created here from a URL or options, which is closed here too. */
  private owned: Redis | null = null;
  private unreachable = false;
  private closed = false;
  private readonly monitors: MonitorAlertCoordinator[] = [];

  /** How long an alert claim holds unless its claimer renews it (`cluster.leaseMs`); past it another replica sends the alert. */
  readonly leaseMs: number;

  constructor(
    readonly options: ResolvedClusterOptions,
    private readonly clock: AuditAlertClock,
  ) {
    this.leaseMs = options.leaseMs;
  }

  /** The coordination of one monitor; `null` for a disabled one, which never alerts. */
  forMonitor(monitor: ResolvedMonitorOptions, dispatcher: AuditAlertDispatcher): MonitorAlertCoordinator | null {
    if (!monitor.enabled) return null;
    const coordinator = new MonitorAlertCoordinator(monitor, this, dispatcher, this.clock);
    this.monitors.push(coordinator);
    return coordinator;
  }

  /**
   * Connects, waiting at most `timeoutMs`; an unreachable Redis is logged, not fatal.
   * @throws AuditAlertConfigError when a client must be created and ioredis cannot be loaded.
   */
  async start(): Promise<void> {
    const client = await this.client();
    if (client.status === undefined || client.status === 'ready') {
      await this.checkOpenOutages();
      return;
    }
    const owned = this.owned;
    if (owned === null) {
      const lazy = client as { status?: string; connect?: () => Promise<unknown> };
      // An application's lazyConnect client would otherwise never connect: nothing is sent until it is ready.
      if (lazy.status === 'wait' && typeof lazy.connect === 'function') lazy.connect().catch(() => undefined);
      return;
    }
    const ready = await withTimeout(
      new Promise<boolean>((resolve) => owned.once('ready', () => resolve(true))),
      this.options.timeoutMs,
      systemClock,
      () => new Error(timeoutReason(this.options.timeoutMs)),
    ).catch(() => false);
    if (!ready) this.markUnreachable(timeoutReason(this.options.timeoutMs));
    else await this.checkOpenOutages();
  }

  /** Closes the connection the module opened; a client given by the application is left open. */
  async close(): Promise<void> {
    this.closed = true;
    const owned = this.owned;
    this.owned = null;
    if (owned === null) return;
    // Not connected, or no answer in time: nothing to say goodbye to, only reconnection to stop.
    const quit = await withTimeout(owned.quit(), this.options.timeoutMs, systemClock, () => new Error('quit')).then(
      () => true,
      () => false,
    );
    if (!quit) owned.disconnect();
  }

  /**
   * Runs a script, within `timeoutMs`.
   * @throws whatever kept Redis from answering: the caller then decides alone.
   */
  async eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      if (this.closed) throw new Error('the application is shutting down');
      const client = await this.client();
      // A command given to a client that is not connected would wait in its queue and run late.
      if (client.status !== undefined && client.status !== 'ready') {
        throw new Error(connectionStatusReason(client.status));
      }
      const reply = await withTimeout(
        client.eval(script, keys.length, ...keys, ...args),
        this.options.timeoutMs,
        systemClock,
        () => new Error(timeoutReason(this.options.timeoutMs)),
      );
      this.markReachable();
      return reply;
    } catch (error) {
      this.markUnreachable(reasonOf(error));
      throw error;
    }
  }

  /** Logs an event this replica sent on its own because Redis did not answer. */
  sentAlone(type: string, monitor: string, outageId: string, error: unknown): void {
    this.logger.warn(clusterSentAlone(this.options.replicaId, alertRaised(type, monitor, outageId), reasonOf(error)));
  }

  /** Logs an event left to another replica. */
  leftToOthers(type: string, monitor: string, outageId: string): void {
    this.logger.debug(clusterLeftToOthers(this.options.replicaId, alertRaised(type, monitor, outageId)));
  }

  /** Logs a repeat this replica did not claim: its outage is acknowledged. */
  acknowledgedRepeat(type: string, monitor: string, outageId: string): void {
    this.logger.debug(clusterAcknowledgedRepeat(this.options.replicaId, alertRaised(type, monitor, outageId)));
  }

  /** Logs an alert this replica sent in place of a claimer that never confirmed it. */
  tookOver(type: string, monitor: string, outageId: string): void {
    this.logger.warn(clusterTookOver(this.options.replicaId, alertRaised(type, monitor, outageId), this.leaseMs));
  }

  /** Logs a claim this replica found taken over by another replica while its own delivery still ran. */
  leaseLost(type: string, monitor: string, outageId: string): void {
    this.logger.warn(clusterLeaseLost(this.options.replicaId, alertRaised(type, monitor, outageId), this.leaseMs));
  }

  /** Logs a step of a monitor's coordination that threw. */
  decisionFailed(monitor: ResolvedMonitorOptions, error: unknown): void {
    this.logger.error(clusterDecisionFailed(this.options.replicaId, monitor.name, errorText(error)));
  }

  private client(): Promise<AuditAlertRedisClient> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  private async connect(): Promise<AuditAlertRedisClient> {
    const target = this.options.redis;
    if (target.kind === 'client') return target.client;
    let RedisClient: typeof Redis;
    try {
      // Loaded only here, so that an application without `cluster` never needs ioredis.
      ({ Redis: RedisClient } = await import('ioredis'));
    } catch (error) {
      throw new AuditAlertConfigError(clusterNeedsIoredis(reasonOf(error)), 'cluster.redis');
    }
    const settings: RedisOptions = {
      ...CLIENT_DEFAULTS,
      // How long a closing socket may linger: it would hold the process up at shutdown.
      disconnectTimeout: this.options.timeoutMs,
      ...(target.options as RedisOptions),
      lazyConnect: true,
    };
    const client = target.kind === 'url' ? new RedisClient(target.url, settings) : new RedisClient(settings);
    // Without an 'error' listener ioredis prints every failed reconnection to the console.
    client.on('error', (error: unknown) => this.markUnreachable(reasonOf(error)));
    client.on('ready', () => this.markReachable());
    if (this.closed) {
      client.disconnect();
    } else {
      this.owned = client;
      // A failure arrives as an 'error' event, and ioredis keeps reconnecting.
      client.connect().catch(() => undefined);
    }
    return client;
  }

  private markUnreachable(reason: string): void {
    if (this.unreachable || this.closed) return;
    this.unreachable = true;
    this.logger.warn(clusterUnreachable(this.options.replicaId, reason));
  }

  private markReachable(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    this.logger.log(clusterReachable(this.options.replicaId));
    // What happened while this replica could not see may have left an outage for it to resolve.
    void this.checkOpenOutages();
  }

  /** Has every healthy monitor learn whether the cluster has an alerted outage for it to resolve. */
  private async checkOpenOutages(): Promise<void> {
    await Promise.all(this.monitors.map((monitor) => monitor.checkOpenOutage()));
  }
}

/** The message of an error, credentials scrubbed, for a log line. */
function reasonOf(error: unknown): string {
  return errorText(error instanceof Error && error.message !== '' ? error.message : error);
}

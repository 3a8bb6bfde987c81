import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS, AuditAlertEvents } from '../audit-alert.constants.js';
import { outageResumed, silenceStoreFailed, unknownMonitor } from '../audit-alert.messages.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { AuditAlertChannelRegistry } from '../channels/audit-alert-channel.registry.js';
import { AuditAlertStateFile } from '../state/audit-alert-state.file.js';
import type { OutageSnapshot } from '../tracker/outage-snapshot.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { alertLeaseMs } from '../cluster/alert-lease.util.js';
import { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AlertTestEvent } from '../events/audit-alert-event.interface.js';
import { AuditAlertHookInvoker } from '../hooks/audit-alert-hook.invoker.js';
import type { HookBinding } from '../hooks/hook-binding.interface.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditAlertSilence, AuditAlertSilenceOptions } from '../silences/audit-alert-silence.interface.js';
import { AuditAlertSilences } from '../silences/audit-alert-silences.js';
import { RedisSilenceStore } from '../silences/redis-silence.store.js';
import { InProcessSilenceStore } from '../silences/silence-store.interface.js';
import { resolveSilence } from '../silences/silence.options.js';
import type { AuditTestAlertOptions, AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { resolveTestAlertOptions } from '../test-alert/test-alert.options.js';
import { AuditStorageMonitor } from './audit-storage.monitor.js';

/** Every monitor of the application, by name. Injectable anywhere. */
@Injectable()
export class AuditMonitorRegistry implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly monitors = new Map<string, AuditStorageMonitor>();
  private readonly cluster: RedisAlertCoordinator | null;
  private readonly silences: AuditAlertSilences;
  private readonly stateFile: AuditAlertStateFile | null;
  private readonly logger = new AuditAlertLogger();

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly dispatcher: AuditAlertDispatcher,
    metrics: AuditAlertMetrics,
    private readonly invoker: AuditAlertHookInvoker,
    private readonly channels: AuditAlertChannelRegistry,
  ) {
    this.cluster =
      options.cluster &&
      new RedisAlertCoordinator(options.cluster, dispatcher, clock, alertLeaseMs(options, options.cluster.timeoutMs));
    const store = this.cluster ? new RedisSilenceStore(this.cluster, options.serviceName) : new InProcessSilenceStore();
    this.silences = new AuditAlertSilences(store, this.cluster !== null, dispatcher, clock, metrics, (name) =>
      this.get(name).getStatus(),
    );
    this.stateFile = options.state && new AuditAlertStateFile(options.state, options.serviceName);
    // Read here, before any provider can track a write: a resumed outage must come before the first new failure.
    const saved = this.stateFile?.load() ?? new Map<string, OutageSnapshot>();
    for (const monitor of options.monitors) {
      const counts = metrics.forMonitor(monitor.name, () => this.get(monitor.name).getStatus().state);
      const cluster = this.cluster?.forMonitor(monitor) ?? null;
      const created = new AuditStorageMonitor(monitor, clock, dispatcher, counts, cluster, this.stateFile);
      this.monitors.set(monitor.name, created);
      const open = saved.get(monitor.name);
      if (open && created.resume(open)) this.logger.log(outageResumed(monitor.name, open.outageId, open.state));
    }
  }

  /**
   * The monitor named `name`.
   * @throws AuditAlertConfigError when there is none.
   */
  get(name: string): AuditStorageMonitor {
    const monitor = this.monitors.get(name);
    if (!monitor) throw new AuditAlertConfigError(unknownMonitor(name, [...this.monitors.keys()]), 'monitors');
    return monitor;
  }

  /** Whether a monitor is named `name`. */
  has(name: string): boolean {
    return this.monitors.has(name);
  }

  /** Every monitor, in the order of the `monitors` option. */
  list(): AuditStorageMonitor[] {
    return [...this.monitors.values()];
  }

  /**
   * Sends a test alert (`audit.alert.test`) to every built-in channel and to
   * every hook that subscribes to it, to prove they work: at deploy time, or
   * as audit evidence that the failure alert fires. No outage is opened or
   * changed; PagerDuty gets an `info` incident of its own, resolved at once.
   * @returns One result per recipient, once each has delivered, failed or been abandoned.
   * @throws AuditAlertConfigError when `options` names an unknown monitor or channel type.
   */
  sendTestAlert(options?: AuditTestAlertOptions): Promise<AuditTestAlertResult[]> {
    const { monitor, channels } = resolveTestAlertOptions(options, [...this.monitors.keys()]);
    const name = monitor ?? this.options.defaultMonitor;
    const event: AlertTestEvent = {
      type: AuditAlertEvents.Test,
      testId: randomUUID(),
      monitor: name,
      serviceName: this.options.serviceName,
      sentAt: new Date(this.clock.wallNow()),
    };
    const select = (binding: HookBinding): boolean =>
      channels === null || (binding.channel !== undefined && channels.has(binding.channel));
    return this.invoker.sendTest(event, monitor !== null, select, (test) => this.dispatcher.dispatch(test));
  }

  /**
   * Holds the alerts of `options.monitors` (every monitor by default) until
   * `durationMs` has passed or `until`, for planned maintenance. Monitors keep
   * tracking, their status, metrics and health indicator are unchanged; only
   * alerts wait. An alert held when the silence ends is sent then if its
   * outage is still open; a recovery of an outage alerted before the silence
   * is sent at once. With `cluster`, every replica obeys the silence.
   * @returns The silence, with its `id` for {@link unsilence}.
   * @throws AuditAlertConfigError when the options are invalid (no reason, longer than `maxSilenceMs`…).
   * @throws Error when `cluster` is set and Redis cannot store it: the silence is then not set.
   */
  async silence(options: AuditAlertSilenceOptions): Promise<AuditAlertSilence> {
    const silence = resolveSilence(options, [...this.monitors.keys()], this.options.maxSilenceMs, this.clock.wallNow());
    try {
      await this.silences.add(silence);
    } catch (error) {
      throw new Error(silenceStoreFailed(errorText(error)), { cause: error });
    }
    return silence;
  }

  /**
   * Ends a silence before its time; the alerts it held are sent now (those of
   * outages still open).
   * @returns `false` when no silence has this id, or it has already ended.
   */
  unsilence(id: string): Promise<boolean> {
    return this.silences.remove(id);
  }

  /** The silences in force, shared by every replica when `cluster` is set. */
  listSilences(): Promise<AuditAlertSilence[]> {
    return this.silences.list();
  }

  /** @internal Connects to the cluster's Redis, if any, and starts the probes that run while healthy. */
  async onApplicationBootstrap(): Promise<void> {
    await this.cluster?.start();
    await this.silences.start();
    for (const { name, notifyRecovery } of this.options.monitors) {
      // Only where no store remembers outages do channels key incidents by monitor, and so resolve what was left open.
      const resolves = notifyRecovery && this.channels.resolvesLeftOpen(name, 'outage');
      this.get(name).start(
        resolves ? () => this.dispatcher.track(this.channels.resolveLeftOpen(name, 'outage')) : null,
      );
    }
  }

  /** @internal Stops every timer and probe. */
  onModuleDestroy(): void {
    this.silences.close();
    for (const monitor of this.monitors.values()) monitor.close();
  }

  /** @internal Closes the Redis connection the module opened, once deliveries have drained; finishes writing the state file. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.cluster?.close(), this.stateFile?.close()]);
  }
}

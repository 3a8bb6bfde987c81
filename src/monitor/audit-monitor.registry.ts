import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AuditAlertConfigError } from '../audit-alert-config.error.js';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS, AuditAlertEvents } from '../audit-alert.constants.js';
import { unknownMonitor } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { alertLeaseMs } from '../cluster/alert-lease.util.js';
import { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AlertTestEvent } from '../events/audit-alert-event.interface.js';
import { AuditAlertHookInvoker } from '../hooks/audit-alert-hook.invoker.js';
import type { HookBinding } from '../hooks/hook-binding.interface.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import type { AuditTestAlertOptions, AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { resolveTestAlertOptions } from '../test-alert/test-alert.options.js';
import { AuditStorageMonitor } from './audit-storage.monitor.js';

/** Every monitor of the application, by name. Injectable anywhere. */
@Injectable()
export class AuditMonitorRegistry implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly monitors = new Map<string, AuditStorageMonitor>();
  private readonly cluster: RedisAlertCoordinator | null;

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly dispatcher: AuditAlertDispatcher,
    metrics: AuditAlertMetrics,
    private readonly invoker: AuditAlertHookInvoker,
  ) {
    this.cluster =
      options.cluster &&
      new RedisAlertCoordinator(options.cluster, dispatcher, clock, alertLeaseMs(options, options.cluster.timeoutMs));
    for (const monitor of options.monitors) {
      const counts = metrics.forMonitor(monitor.name, () => this.get(monitor.name).getStatus().state);
      const cluster = this.cluster?.forMonitor(monitor) ?? null;
      this.monitors.set(monitor.name, new AuditStorageMonitor(monitor, clock, dispatcher, counts, cluster));
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

  /** @internal Connects to the cluster's Redis, if any, and starts the probes that run while healthy. */
  async onApplicationBootstrap(): Promise<void> {
    await this.cluster?.start();
    for (const monitor of this.monitors.values()) monitor.start();
  }

  /** @internal Stops every timer and probe. */
  onModuleDestroy(): void {
    for (const monitor of this.monitors.values()) monitor.close();
  }

  /** @internal Closes the Redis connection the module opened, once deliveries have drained. */
  async onApplicationShutdown(): Promise<void> {
    await this.cluster?.close();
  }
}

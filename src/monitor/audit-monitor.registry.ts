import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AuditAlertConfigError } from '../audit-alert-config.error.js';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import { unknownMonitor } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import { AuditStorageMonitor } from './audit-storage.monitor.js';

/** Every monitor of the application, by name. Injectable anywhere. */
@Injectable()
export class AuditMonitorRegistry implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly monitors = new Map<string, AuditStorageMonitor>();
  private readonly cluster: RedisAlertCoordinator | null;

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) clock: AuditAlertClock,
    dispatcher: AuditAlertDispatcher,
    metrics: AuditAlertMetrics,
  ) {
    this.cluster = options.cluster && new RedisAlertCoordinator(options.cluster, dispatcher, clock);
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

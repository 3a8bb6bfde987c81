import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_GAP_RECORDERS,
  AUDIT_ALERT_REDIS,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  AUDIT_ALERT_SINKS,
  AUDIT_ALERT_STATE_FILE,
  AuditAlertEvents,
} from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { outageResumed, silenceStoreFailed, unknownMonitor } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { errorText } from '../common/error-text.util.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertDeliveryReceipt } from '../dispatch/delivery-receipt.interface.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import type { AlertTestEvent } from '../events/audit-alert-event.interface.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import type { AuditAlertSilence, AuditAlertSilenceOptions } from '../silences/audit-alert-silence.interface.js';
import { AuditAlertSilences } from '../silences/audit-alert-silences.js';
import { resolveSilence } from '../silences/silence.options.js';
import type { AlertSinkFactory } from '../sink/alert-sink.interface.js';
import type { GapRecorderFactory } from '../gap/audit-gap.recorder.js';
import type { AuditAlertStateFile } from '../state/audit-alert-state.file.js';
import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';
import type { AuditTestAlertOptions, AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { resolveTestAlertOptions } from '../test-alert/test-alert.options.js';
import { AuditStorageMonitor } from './audit-storage.monitor.js';

/** Every monitor of the application, by name. Injectable anywhere. */
@Injectable()
export class AuditMonitorRegistry implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly monitors = new Map<string, AuditStorageMonitor>();
  private readonly logger = new AuditAlertLogger();

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly dispatcher: AuditAlertDispatcher,
    metrics: AuditAlertMetrics,
    private readonly silences: AuditAlertSilences,
    @Inject(AUDIT_ALERT_SINKS) sinkFor: AlertSinkFactory,
    @Inject(AUDIT_ALERT_REDIS) private readonly redis: RedisAlertCoordinator | null,
    @Inject(AUDIT_ALERT_STATE_FILE) private readonly stateFile: AuditAlertStateFile | null,
    @Inject(AUDIT_ALERT_GAP_RECORDERS) gapRecorderFor: GapRecorderFactory,
  ) {
    // Read here, before any provider can track a write: a resumed outage must come before the first new failure.
    const saved = stateFile?.load();
    for (const monitor of options.monitors) {
      const counts = metrics.forMonitor(monitor.name, () => this.get(monitor.name).getStatus().state);
      const created = new AuditStorageMonitor(monitor, clock, sinkFor(monitor), counts, gapRecorderFor(monitor));
      this.monitors.set(monitor.name, created);
      const open = saved?.get(monitor.name);
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
    return this.testRound(options).then(({ receipts }) =>
      receipts.map(({ recipient, result, attempts, reason }) =>
        result === 'delivered'
          ? { recipient, delivered: true, attempts }
          : { recipient, delivered: false, attempts, error: reason ?? result },
      ),
    );
  }

  /**
   * @internal Sends a test alert, as {@link sendTestAlert} does, and gives back
   * the event with the receipts: what the scheduled test needs to say who failed.
   */
  testRound(
    options?: AuditTestAlertOptions,
  ): Promise<{ readonly event: AlertTestEvent; readonly receipts: readonly AuditAlertDeliveryReceipt[] }> {
    const { monitor, channels } = resolveTestAlertOptions(options, [...this.monitors.keys()]);
    const name = monitor ?? this.options.defaultMonitor;
    const event: AlertTestEvent = {
      type: AuditAlertEvents.Test,
      testId: randomUUID(),
      monitor: name,
      serviceName: this.options.serviceName,
      sentAt: new Date(this.clock.wallNow()),
    };
    const recipients = this.dispatcher
      .recipients()
      .filter(
        (binding) =>
          binding.events.includes(AuditAlertEvents.Test) &&
          (monitor === null || binding.monitors === null || binding.monitors.has(name)) &&
          (channels === null || channels.has(binding.channel as AuditAlertChannelType)),
      );
    return this.dispatcher.sendTest(event, recipients).then((receipts) => ({ event, receipts }));
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

  /** @internal Connects to the cluster's Redis, if any, and starts the monitors: probes while healthy, left-open resolves. */
  async onApplicationBootstrap(): Promise<void> {
    await this.redis?.start();
    await this.silences.start();
    for (const monitor of this.monitors.values()) monitor.start();
  }

  /** @internal Stops every timer and probe. */
  onModuleDestroy(): void {
    this.silences.close();
    for (const monitor of this.monitors.values()) monitor.close();
  }

  /** @internal Closes the Redis connection the module opened, once deliveries have drained; finishes writing the state file. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.redis?.close(), this.stateFile?.close()]);
  }
}

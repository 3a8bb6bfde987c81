import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuditAlertConfigError } from './errors/audit-alert-config.error.js';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from './audit-alert.constants.js';
import {
  AUDIT_ALERT_MODULE_OPTIONS,
  AUDIT_ALERT_OPTIONS_TYPE,
  ConfigurableAuditAlertModule,
} from './audit-alert.module-definition.js';
import { invalidOption, unknownOption } from './audit-alert.messages.js';
import { KNOWN_OPTIONS, type ResolvedAuditAlertOptions, resolveAuditAlertOptions } from './audit-alert.options.js';
import { UNSAFE_KEYS } from './options/option-readers.util.js';
import { AuditCapacityWatcher } from './capacity/audit-capacity.watcher.js';
import { AuditStorageRequirementsCheck } from './guard/audit-storage-requirements.check.js';
import { systemClock } from './clock/system.clock.js';
import { AuditAlertChannelRegistry } from './channels/audit-alert-channel.registry.js';
import { AUDIT_ALERT_RANDOM } from './channels/channel.constants.js';
import { AuditAlertDispatcher } from './dispatch/audit-alert.dispatcher.js';
import { AuditAlertHeartbeat } from './heartbeat/audit-alert-heartbeat.service.js';
import { AuditAlertHookExplorer } from './hooks/audit-alert-hook.explorer.js';
import { AuditAlertInvoker } from './dispatch/audit-alert.invoker.js';
import { AUDIT_ALERT_PATH_PROVIDERS } from './audit-alert.providers.js';
import { AuditAlertMetrics } from './metrics/audit-alert.metrics.js';
import { AuditMonitorRegistry } from './monitor/audit-monitor.registry.js';
import { AuditStorageMonitor } from './monitor/audit-storage.monitor.js';
import { TrackAuditWriteExplorer } from './monitor/track-audit-write.explorer.js';
import { AuditTestAlertScheduler } from './monitor/audit-test-alert.scheduler.js';

/**
 * Watches the storage of the audit trail and alerts through `@AuditAlertHook()`
 * providers and `@OnEvent()` listeners when it fails past a threshold.
 *
 * ```ts
 * AuditAlertModule.forRoot({ serviceName: 'billing-api', thresholdMs: 30_000 })
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: AUDIT_ALERT_CLOCK, useValue: systemClock },
    {
      provide: AUDIT_ALERT_RESOLVED_OPTIONS,
      useFactory: resolveAuditAlertOptions,
      inject: [AUDIT_ALERT_MODULE_OPTIONS],
    },
    {
      provide: AuditAlertMetrics,
      useFactory: (options: ResolvedAuditAlertOptions) => AuditAlertMetrics.create(options),
      inject: [AUDIT_ALERT_RESOLVED_OPTIONS],
    },
    AuditAlertInvoker,
    ...AUDIT_ALERT_PATH_PROVIDERS,
    AuditAlertDispatcher,
    AuditMonitorRegistry,
    {
      provide: AuditStorageMonitor,
      useFactory: (options: ResolvedAuditAlertOptions, registry: AuditMonitorRegistry) =>
        registry.get(options.defaultMonitor),
      inject: [AUDIT_ALERT_RESOLVED_OPTIONS, AuditMonitorRegistry],
    },
    AuditAlertHookExplorer,
    TrackAuditWriteExplorer,
    { provide: AUDIT_ALERT_RANDOM, useValue: Math.random },
    AuditAlertChannelRegistry,
    AuditAlertHeartbeat,
    AuditCapacityWatcher,
    AuditStorageRequirementsCheck,
    AuditTestAlertScheduler,
  ],
  exports: [AuditStorageMonitor, AuditMonitorRegistry],
})
export class AuditAlertModule extends ConfigurableAuditAlertModule {
  /**
   * Registers the module with static options; every option may be omitted.
   * @throws AuditAlertConfigError at bootstrap when an option is invalid.
   */
  static override forRoot(options: typeof AUDIT_ALERT_OPTIONS_TYPE = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new AuditAlertConfigError(invalidOption('options', options, 'an object'), 'options');
    }
    // Checked before Nest copies the options, which would turn a "__proto__" key into a prototype.
    const unsafe = UNSAFE_KEYS.find((key) => Object.hasOwn(options, key));
    if (unsafe !== undefined) throw new AuditAlertConfigError(unknownOption(unsafe, KNOWN_OPTIONS), unsafe);
    return super.forRoot(options);
  }
}

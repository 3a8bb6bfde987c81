import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { AuditAlertConfigError } from './errors/audit-alert-config.error.js';
import { invalidOption } from './audit-alert.messages.js';
import type {
  AuditAlertModuleExtras,
  AuditAlertModuleOptions,
} from './interfaces/audit-alert-module-options.interface.js';
import { AuditMonitorRegistry } from './monitor/audit-monitor.registry.js';
import { getAuditMonitorToken, requestedMonitorNames } from './monitor/inject-audit-monitor.decorator.js';

/**
 * A provider per monitor name that can be injected by token: the names asked
 * for by `@InjectAuditMonitor()` anywhere in the process, and those of static
 * `monitors` options. A name no monitor has resolves to `null`, so that a class
 * never instantiated by this application costs nothing; the explorer stops the
 * bootstrap when a provider really depends on one.
 */
function namedMonitorProviders(options: { monitors?: unknown }): Provider[] {
  const listed = Array.isArray(options.monitors) ? options.monitors : [];
  const names = new Set([...requestedMonitorNames, ...listed.map((m: { name?: unknown } | null) => m?.name)]);
  return [...names]
    .filter((name): name is string => typeof name === 'string')
    .map((name) => ({
      provide: getAuditMonitorToken(name),
      useFactory: (registry: AuditMonitorRegistry) => (registry.has(name) ? registry.get(name) : null),
      inject: [AuditMonitorRegistry],
    }));
}

export const {
  ConfigurableModuleClass: ConfigurableAuditAlertModule,
  MODULE_OPTIONS_TOKEN: AUDIT_ALERT_MODULE_OPTIONS,
  OPTIONS_TYPE: AUDIT_ALERT_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditAlertModuleOptions>({ moduleName: 'AuditAlert' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAuditAlertOptions')
  .setExtras<AuditAlertModuleExtras>({ isGlobal: true }, (definition, extras) => {
    if (typeof extras.isGlobal !== 'boolean') {
      throw new AuditAlertConfigError(invalidOption('isGlobal', extras.isGlobal, 'true or false'), 'isGlobal');
    }
    const named = namedMonitorProviders(extras as { monitors?: unknown });
    return {
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), ...named],
      exports: [...(definition.exports ?? []), ...named.map((p) => (p as { provide: string }).provide)],
    };
  })
  .build();

import { ConfigurableModuleBuilder } from '@nestjs/common';
import { AuditAlertConfigError } from './audit-alert-config.error.js';
import { invalidOption } from './audit-alert.messages.js';
import type {
  AuditAlertModuleExtras,
  AuditAlertModuleOptions,
} from './interfaces/audit-alert-module-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableAuditAlertModule,
  MODULE_OPTIONS_TOKEN: AUDIT_ALERT_MODULE_OPTIONS,
  OPTIONS_TYPE: AUDIT_ALERT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUDIT_ALERT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditAlertModuleOptions>({ moduleName: 'AuditAlert' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAuditAlertOptions')
  .setExtras<AuditAlertModuleExtras>({ isGlobal: true }, (definition, { isGlobal }) => {
    if (typeof isGlobal !== 'boolean') {
      throw new AuditAlertConfigError(invalidOption('isGlobal', isGlobal, 'true or false'), 'isGlobal');
    }
    return { ...definition, global: isGlobal };
  })
  .build();

import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';

/** What the PagerDuty webhook verifies deliveries with. */
export interface AuditAlertPagerDutyWebhookOptions {
  /**
   * The signing secrets of the PagerDuty V3 webhook subscription (given when
   * it is created). Several during a rotation: a delivery signed with any of
   * them is taken.
   */
  secrets: readonly string[];
}

/** Options of `AuditAlertPagerDutyModule.register()`. */
export interface AuditAlertPagerDutyModuleOptions extends AuditAlertPagerDutyWebhookOptions {
  /**
   * Where the route listens (`POST`), under the application's global prefix.
   * @default 'audit-alert/pagerduty'
   */
  path?: string;
}

/** Options of `AuditAlertPagerDutyModule.registerAsync()`: the secrets come from a factory (a config service). */
export interface AuditAlertPagerDutyModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Where the route listens (`POST`): known when the module is declared, as routes are.
   * @default 'audit-alert/pagerduty'
   */
  path?: string;
  /** Gives the secrets. */
  useFactory: (...args: never[]) => AuditAlertPagerDutyWebhookOptions | Promise<AuditAlertPagerDutyWebhookOptions>;
  /** What `useFactory` is given. */
  inject?: FactoryProvider['inject'];
}

import type { AuditAlertEventType } from '../audit-alert.constants.js';

/** Options of `@AuditAlertHook()`. */
export interface AuditAlertHookOptions {
  /**
   * Event types this hook receives.
   * @default every type: ['audit.storage.unreachable', 'audit.storage.recovered']
   */
  events?: readonly AuditAlertEventType[];
  /**
   * Names of the monitors whose events this hook receives.
   * @default every monitor
   */
  monitors?: readonly string[];
}

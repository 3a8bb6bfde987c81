import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';

/**
 * Implemented by every class decorated with `@AuditAlertHook()`. The call is
 * isolated: a throw, a rejection or a hang is logged and harms nothing else.
 */
export interface OnAuditAlert {
  /** Receives each event the hook subscribed to. */
  onAuditAlert(event: AuditAlertEvent): void | Promise<void>;
}

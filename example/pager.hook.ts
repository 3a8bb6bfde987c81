import {
  type AuditAlertEvent,
  AuditAlertHook,
  isAlertTestEvent,
  isStorageRecoveredEvent,
  isStorageUnreachableEvent,
  type OnAuditAlert,
} from 'nestjs-audit-alert';
import { seconds, timeline } from './timeline.js';

/**
 * Where a real application would page the on-call engineer, open an incident
 * or post to a channel; the demo prints what it would send.
 */
@AuditAlertHook()
export class PagerHook implements OnAuditAlert {
  /** Called by the module for every unreachable alert, repeat and recovery, and for test alerts. */
  onAuditAlert(event: AuditAlertEvent): void {
    if (isAlertTestEvent(event)) {
      timeline.print('TEST', `${event.type} received by PagerHook`, { testId: event.testId });
      return;
    }
    if (isStorageUnreachableEvent(event)) {
      timeline.print('ALERT', `${event.type} (occurrence ${event.occurrence}) received by PagerHook`, {
        outageId: event.outageId,
        service: event.serviceName,
        consecutiveFailures: event.consecutiveFailures,
        unreachableFor: seconds(event.unreachableDurationMs),
        lastError: event.lastError,
      });
      return;
    }
    // The demo configures no capacity watch, so only recoveries remain.
    if (!isStorageRecoveredEvent(event)) return;
    timeline.print('RECOVERED', `${event.type} received by PagerHook`, {
      outageId: event.outageId,
      outageDuration: seconds(event.outageDurationMs),
      writesFailed: event.writesFailed,
      recoveredAt: event.recoveredAt.toISOString(),
    });
  }
}

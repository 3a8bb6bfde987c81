import { AuditAlertEvents } from '../audit-alert.constants.js';
import type {
  AlertAcknowledgedEvent,
  AlertTestEvent,
  AlertTestFailedEvent,
  AuditAlertEvent,
  LedgerBrokenEvent,
  RecordsRejectedEvent,
  SpoolQuarantinedEvent,
  SpoolReplayedEvent,
  SpoolUnwritableEvent,
  StorageCapacityEvent,
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from './audit-alert-event.interface.js';

/** Narrows an event to `audit.storage.unreachable`. */
export function isStorageUnreachableEvent(event: AuditAlertEvent): event is StorageUnreachableEvent {
  return event.type === AuditAlertEvents.StorageUnreachable;
}

/** Narrows an event to `audit.storage.recovered`. */
export function isStorageRecoveredEvent(event: AuditAlertEvent): event is StorageRecoveredEvent {
  return event.type === AuditAlertEvents.StorageRecovered;
}

/** Narrows an event to `audit.storage.capacity`. */
export function isStorageCapacityEvent(event: AuditAlertEvent): event is StorageCapacityEvent {
  return event.type === AuditAlertEvents.StorageCapacity;
}

/** Narrows an event to `audit.alert.test`. */
export function isAlertTestEvent(event: AuditAlertEvent): event is AlertTestEvent {
  return event.type === AuditAlertEvents.Test;
}

/** Narrows an event to `audit.alert.test.failed`. */
export function isAlertTestFailedEvent(event: AuditAlertEvent): event is AlertTestFailedEvent {
  return event.type === AuditAlertEvents.TestFailed;
}

/** Narrows an event to `audit.storage.degraded`. */
export function isStorageDegradedEvent(event: AuditAlertEvent): event is StorageDegradedEvent {
  return event.type === AuditAlertEvents.StorageDegraded;
}

/** Narrows an event to `audit.records.rejected`. */
export function isRecordsRejectedEvent(event: AuditAlertEvent): event is RecordsRejectedEvent {
  return event.type === AuditAlertEvents.RecordsRejected;
}

/** Narrows an event to `audit.spool.unwritable`. */
export function isSpoolUnwritableEvent(event: AuditAlertEvent): event is SpoolUnwritableEvent {
  return event.type === AuditAlertEvents.SpoolUnwritable;
}

/** Narrows an event to `audit.spool.quarantined`. */
export function isSpoolQuarantinedEvent(event: AuditAlertEvent): event is SpoolQuarantinedEvent {
  return event.type === AuditAlertEvents.SpoolQuarantined;
}

/** Narrows an event to `audit.spool.replayed`. */
export function isSpoolReplayedEvent(event: AuditAlertEvent): event is SpoolReplayedEvent {
  return event.type === AuditAlertEvents.SpoolReplayed;
}

/** Narrows an event to `audit.ledger.broken`. */
export function isLedgerBrokenEvent(event: AuditAlertEvent): event is LedgerBrokenEvent {
  return event.type === AuditAlertEvents.LedgerBroken;
}

/** Narrows an event to `audit.alert.acknowledged`. */
export function isAlertAcknowledgedEvent(event: AuditAlertEvent): event is AlertAcknowledgedEvent {
  return event.type === AuditAlertEvents.Acknowledged;
}

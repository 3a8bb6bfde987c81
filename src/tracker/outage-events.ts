import { AuditAlertEvents } from '../audit-alert.constants.js';
import type {
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import type { FailureWindow } from './failure-window.js';
import type { Outage } from './outage.js';

/** Who raises the events: the monitor's name and the service's. */
export interface EventSource {
  readonly monitor: string;
  readonly serviceName: string;
}

/** Durations in events are whole milliseconds: the monotonic clock's fractions are noise, not precision. */
const wholeMs = (ms: number): number => Math.round(ms);

/** `audit.storage.unreachable` for `outage`, at monotonic time `mono`, once its occurrence is counted. */
export function unreachableEvent(source: EventSource, outage: Outage, mono: number): StorageUnreachableEvent {
  return {
    type: AuditAlertEvents.StorageUnreachable,
    outageId: outage.id,
    monitor: source.monitor,
    serviceName: source.serviceName,
    firstFailureAt: new Date(outage.firstFailureWall),
    consecutiveFailures: outage.consecutive,
    unreachableDurationMs: wholeMs(mono - outage.firstFailureMono),
    lastError: outage.lastError(),
    occurrence: outage.unreachableOccurrence,
    probeFailures: outage.probeFailures,
  };
}

/** `audit.storage.degraded` for `outage`, with the ratio `window` holds, once its occurrence is counted. */
export function degradedEvent(source: EventSource, outage: Outage, window: FailureWindow): StorageDegradedEvent {
  return {
    type: AuditAlertEvents.StorageDegraded,
    outageId: outage.id,
    monitor: source.monitor,
    serviceName: source.serviceName,
    failureRatio: window.failures / window.writes,
    writes: window.writes,
    failures: window.failures,
    windowMs: window.windowMs,
    lastError: outage.lastError(),
    firstFailureAt: new Date(outage.firstFailureWall),
    occurrence: outage.degradedOccurrence,
  };
}

/** `audit.storage.recovered` for `outage`, once its recovery time is set. */
export function recoveredEvent(source: EventSource, outage: Outage): StorageRecoveredEvent {
  return {
    type: AuditAlertEvents.StorageRecovered,
    outageId: outage.id,
    monitor: source.monitor,
    serviceName: source.serviceName,
    outageStartedAt: new Date(outage.firstFailureWall),
    recoveredAt: new Date(outage.recoveredWall),
    outageDurationMs: wholeMs(outage.recoveredMono - outage.firstFailureMono),
    eventsAffected: outage.failures,
    unreachableAlerts: outage.unreachableOccurrence,
    degradedAlerts: outage.degradedOccurrence,
  };
}

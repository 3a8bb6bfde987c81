import { AuditAlertEvents } from '../audit-alert.constants.js';
import type {
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../events/audit-alert-event.interface.js';
import { type OutageCounts, storageRecoveredEvent } from '../events/storage-recovered-event.js';
import { wholeMs } from '../events/whole-ms.util.js';
import type { FailureWindow } from './failure-window.js';
import type { Outage } from './outage.js';

/** Who raises the events: the monitor's name and the service's, and whether it has a spool. */
interface EventSource {
  readonly monitor: string;
  readonly serviceName: string;
  /** Any non-null value: the monitor has a spool, whose counts its recoveries carry. */
  readonly spool?: object | null;
}

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
    windowMs: wholeMs(window.windowMs),
    lastError: outage.lastError(),
    firstFailureAt: new Date(outage.firstFailureWall),
    occurrence: outage.degradedOccurrence,
  };
}

/** `audit.storage.recovered` for `outage`, once its recovery time is set. */
export function recoveredEvent(source: EventSource, outage: Outage): StorageRecoveredEvent {
  return storageRecoveredEvent(
    {
      outageId: outage.id,
      monitor: source.monitor,
      serviceName: source.serviceName,
      startedAt: outage.firstFailureWall,
      recoveredAt: outage.recoveredWall,
      durationMs: outage.recoveredMono - outage.firstFailureMono,
      writesFailed: outage.failures,
      unreachableAlerts: outage.unreachableOccurrence,
      degradedAlerts: outage.degradedOccurrence,
    },
    outageCounts(source, outage).spool,
  );
}

/** What `outage` counted: its failed writes, and, with a spool, what became of their records. */
export function outageCounts(source: EventSource, outage: Outage): OutageCounts {
  return {
    writesFailed: outage.failures,
    spool:
      source.spool === undefined || source.spool === null
        ? null
        : { recordsSpooled: outage.recordsSpooled, recordsLost: outage.recordsLost },
  };
}

import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { StorageRecoveredEvent } from './audit-alert-event.interface.js';
import { wholeMs } from './whole-ms.util.js';

/** What a recovery says of its outage, whoever saw it end: a monitor's tracker, or a replica from the cluster's record. */
interface RecoveredOutage {
  readonly outageId: string;
  readonly monitor: string;
  readonly serviceName: string;
  /** Wall-clock time of the outage's first failure, in milliseconds since the epoch. */
  readonly startedAt: number;
  /** Wall-clock time the storage was found working again. */
  readonly recoveredAt: number;
  /** From the first failure to the recovery, in milliseconds of any precision: the event carries it whole. */
  readonly durationMs: number;
  /** Writes that failed during the outage (probes are not writes). */
  readonly writesFailed: number;
  /**
   * How many `audit.storage.unreachable` alerts the outage raised (in this
   * process or, resumed from the `state` file, one before it); absent where
   * not known (a replica announcing an outage another replica alerted on).
   */
  readonly unreachableAlerts?: number;
  /** The same for `audit.storage.degraded`. */
  readonly degradedAlerts?: number;
}

/** What the spool of a monitor did with the records of an outage's failed writes. */
export interface SpoolCounts {
  /** Records kept, to be replayed. */
  readonly recordsSpooled: number;
  /** Records it could not keep: lost. */
  readonly recordsLost: number;
}

/** What an outage counted as it ended, whether or not its recovery is announced: what a replica announcing it needs. */
export interface OutageCounts {
  readonly writesFailed: number;
  /** `null` without a spool. */
  readonly spool: SpoolCounts | null;
}

/**
 * `audit.storage.recovered`: the one builder every path uses (the tracker's
 * own recovery, and a replica's announcement of an outage it did not alert
 * on). Durations come out whole; the deprecated aliases are filled from the
 * fields they stand for.
 * @param spool The spool's counts for the outage; `null` without a spool (or
 * where they cannot be known), which makes `recordsSpooled` and `recordsLost` `null`.
 */
export function storageRecoveredEvent(outage: RecoveredOutage, spool: SpoolCounts | null): StorageRecoveredEvent {
  const base = {
    type: AuditAlertEvents.StorageRecovered,
    outageId: outage.outageId,
    monitor: outage.monitor,
    serviceName: outage.serviceName,
    outageStartedAt: new Date(outage.startedAt),
    recoveredAt: new Date(outage.recoveredAt),
    // A wall clock set back (another replica's record) must not make it negative.
    outageDurationMs: Math.max(0, wholeMs(outage.durationMs)),
    writesFailed: outage.writesFailed,
    recordsSpooled: spool === null ? null : spool.recordsSpooled,
    recordsLost: spool === null ? null : spool.recordsLost,
    eventsAffected: outage.writesFailed,
    ...(outage.unreachableAlerts === undefined ? {} : { unreachableAlerts: outage.unreachableAlerts }),
    ...(outage.degradedAlerts === undefined ? {} : { degradedAlerts: outage.degradedAlerts }),
  } as const;
  return spool === null ? base : { ...base, eventsSpooled: spool.recordsSpooled, eventsLost: spool.recordsLost };
}

/** The figures `event` was built from, for a path that announces it under another id or with the cluster's counts. */
export function recoveryFiguresOf(event: StorageRecoveredEvent): {
  readonly outage: RecoveredOutage;
  readonly spool: SpoolCounts | null;
} {
  return {
    outage: {
      outageId: event.outageId,
      monitor: event.monitor,
      serviceName: event.serviceName,
      startedAt: event.outageStartedAt.getTime(),
      recoveredAt: event.recoveredAt.getTime(),
      durationMs: event.outageDurationMs,
      writesFailed: event.writesFailed,
      ...(event.unreachableAlerts === undefined ? {} : { unreachableAlerts: event.unreachableAlerts }),
      ...(event.degradedAlerts === undefined ? {} : { degradedAlerts: event.degradedAlerts }),
    },
    spool:
      event.recordsSpooled === null
        ? null
        : { recordsSpooled: event.recordsSpooled, recordsLost: event.recordsLost ?? 0 },
  };
}

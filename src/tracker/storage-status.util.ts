import { errorText } from '../common/error-text.util.js';
import type { AuditStorageState, AuditStorageStatus } from './audit-storage-status.interface.js';
import type { Outage } from './outage.js';
import type { RejectedRun } from './rejected-run.js';

/**
 * The status of a monitor from what its tracker keeps. Error texts are
 * derived when first read, so a status taken on the write path (for
 * `status$`) costs no error text there.
 * @param outage The open outage; `null` while healthy.
 * @param failureRatio The window's, while it counts.
 * @param rejected The run of rejections, while one is open.
 * @param pendingWrites Writes in flight, which the monitor counts.
 */
export function storageStatus(
  monitor: string,
  state: AuditStorageState,
  outage: Outage | null,
  failureRatio: number | null,
  rejected: Pick<RejectedRun, 'count' | 'lastError'> | null,
  pendingWrites: number,
): AuditStorageStatus {
  const status = {
    monitor,
    state,
    outageId: outage?.id ?? null,
    firstFailureAt: outage === null ? null : new Date(outage.firstFailureWall),
    consecutiveFailures: outage?.consecutive ?? 0,
    eventsAffected: outage?.failures ?? 0,
    lastError: null as string | null,
    lastAlertAt: outage === null || outage.lastAlertWall === null ? null : new Date(outage.lastAlertWall),
    probeFailures: outage?.probeFailures ?? 0,
    lastProbeError: null as string | null,
    failureRatio,
    pendingWrites,
    rejectedRecords: 0,
    lastRejectedError: null as string | null,
  };
  if (rejected !== null) {
    status.rejectedRecords = rejected.count;
    const error = rejected.lastError;
    lazyText(status, 'lastRejectedError', () => errorText(error));
  }
  if (outage !== null) {
    const write = outage.hasWriteError ? outage.lastErrorValue : outage.lastProbeErrorValue;
    lazyText(status, 'lastError', () => outage.textOf(write));
    if (outage.hasProbeError) {
      const probe = outage.lastProbeErrorValue;
      lazyText(status, 'lastProbeError', () => outage.textOf(probe));
    }
  }
  return status;
}

/** Makes `key` of `status` a text derived when first read, then kept. */
function lazyText(
  status: object,
  key: 'lastError' | 'lastProbeError' | 'lastRejectedError',
  derive: () => string,
): void {
  Object.defineProperty(status, key, {
    enumerable: true,
    configurable: true,
    get: (): string => {
      const text = derive();
      Object.defineProperty(status, key, { value: text, enumerable: true });
      return text;
    },
  });
}

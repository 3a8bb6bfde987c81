import { fail } from '../options/option-readers.util.js';
import type { AuditGapRecordWriter } from './gap-record-options.interface.js';

/**
 * Validates the `gapRecord` setting of a monitor, or returns the inherited one
 * when it sets none. A gap is recorded from the recovery of an outage, so a
 * monitor that announces none (`notifyRecovery: false`) cannot have one.
 * @throws AuditAlertConfigError naming the option.
 */
export function resolveGapRecord(
  raw: unknown,
  inherited: AuditGapRecordWriter | null,
  notifyRecovery: boolean,
  path: string,
): AuditGapRecordWriter | null {
  const writer = raw === undefined ? inherited : raw;
  if (writer === null && raw === undefined) return null;
  if (typeof writer !== 'function') {
    fail(path, raw, 'a function (gap) => Promise that writes the gap into the audit trail');
  }
  if (!notifyRecovery) {
    fail(
      path,
      writer,
      'no gapRecord on a monitor with notifyRecovery: false (the gap is recorded from the recovery it would not announce)',
    );
  }
  return writer as AuditGapRecordWriter;
}

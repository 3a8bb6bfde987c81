import { writeTimedOut } from '../audit-alert.messages.js';

/**
 * The failure a monitor records for writes passed to `track()` that are still
 * pending after `writeTimeoutMs`. The writes are not cancelled: when they
 * settle later, their outcome is recorded as usual.
 */
export class AuditWriteTimeoutError extends Error {
  override readonly name = 'AuditWriteTimeoutError';

  /**
   * @param timeoutMs The limit the writes exceeded (`writeTimeoutMs`).
   * @param pendingWrites How many writes were found pending past the limit.
   */
  constructor(
    readonly timeoutMs: number,
    readonly pendingWrites: number,
  ) {
    super(writeTimedOut(pendingWrites, timeoutMs));
  }
}

import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';

/**
 * How one delivery of one event to one recipient ended: `delivered`; `failed`
 * (the recipient threw, or a channel gave up after its attempts);
 * `timed-out` (past its deadline, or blocking the event loop that long);
 * `abandoned` (still running when shutdown stopped waiting).
 */
export type AuditAlertDeliveryResult = 'delivered' | 'failed' | 'timed-out' | 'abandoned';

/** The account of one delivery, given back by the invoker once it has settled. */
export interface AuditAlertDeliveryReceipt {
  /** The hook's class name, or the channel's label (its type and origin, never a secret). */
  readonly recipient: string;
  /** The built-in channel's type; `null` for a hook. */
  readonly channel: string | null;
  /** The event, as the recipient got it. */
  readonly event: AuditAlertEvent;
  readonly result: AuditAlertDeliveryResult;
  /** Attempts made: a hook makes one; a channel as many as its retries took. */
  readonly attempts: number;
  /** Why it was not delivered, scrubbed and bounded; `null` when it was. */
  readonly reason: string | null;
  readonly startedAt: Date;
  readonly settledAt: Date;
  /** The error type for metrics (`error.type`); `null` when delivered. */
  readonly errorType: string | null;
}

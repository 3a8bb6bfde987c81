import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';

/** Calls `run` and returns what it returned, timing the synchronous part of the call. */
export type RecipientTimer = <T>(run: () => T) => T;

/**
 * A recipient as the invoker calls it: a hook (static hooks resolve to one
 * instance, others to a fresh one per alert) or a built-in channel.
 */
export interface RecipientBinding {
  /** Names the recipient in logs, metrics, receipts and test alert results. */
  readonly name: string;
  /** The type of a built-in channel (`'webhook'`, `'pagerduty'`…); absent for a hook. */
  readonly channel?: string;
  readonly events: readonly AuditAlertEventType[];
  /** `null`: every monitor. */
  readonly monitors: ReadonlySet<string> | null;
  /**
   * How long a call may run before it is abandoned; `null` for a recipient that
   * bounds itself (the built-in channels time out each attempt and stop at
   * shutdown, and their retries may rightly outlast `hookTimeoutMs`).
   * @default options.hookTimeoutMs
   */
  readonly timeoutMs?: number | null;
  /** A filter past `events` and `monitors`, such as a channel's `fromOccurrence`. */
  accepts?(event: AuditAlertEvent): boolean;
  /**
   * Delivers `event`; resolves to the number of attempts it took.
   * @param timed Runs the application's own code, measuring how long it blocks the event loop.
   * @throws whatever kept it from being delivered.
   */
  invoke(event: AuditAlertEvent, timed: RecipientTimer): Promise<number>;
}

/** Where the dispatcher finds its recipients: the hooks the explorer found, the channels of the options. */
export interface RecipientSource {
  /** The recipients as of now; called before each event is sent, so it must be cheap. */
  recipients(): readonly RecipientBinding[];
}

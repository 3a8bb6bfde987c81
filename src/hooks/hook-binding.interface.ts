import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';

/** Calls `run` and returns what it returned, timing the synchronous part of the call. */
export type HookTimer = <T>(run: () => T) => T;

/**
 * A recipient as the invoker calls it: a hook (static hooks resolve to one
 * instance, others to a fresh one per alert) or a built-in channel.
 */
export interface HookBinding {
  /** Names the recipient in logs, metrics and test alert results. */
  readonly name: string;
  /** The type of a built-in channel; absent for a hook. */
  readonly channel?: AuditAlertChannelType;
  readonly events: readonly AuditAlertEventType[];
  /** `null`: every monitor. */
  readonly monitors: ReadonlySet<string> | null;
  /**
   * How long a call may run before it is abandoned; `null` for a hook that
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
  invoke(event: AuditAlertEvent, timed: HookTimer): Promise<number>;
}

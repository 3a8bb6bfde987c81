import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { OnAuditAlert } from './on-audit-alert.interface.js';

/** A hook as the invoker calls it: static hooks resolve to one instance, others to a fresh one per alert. */
export interface HookBinding {
  readonly name: string;
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
  instanceFor(event: AuditAlertEvent): OnAuditAlert | Promise<OnAuditAlert>;
}

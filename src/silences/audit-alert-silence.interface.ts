/** What `AuditMonitorRegistry.silence()` is given: which monitors, when, for how long, why, and who asks. */
export interface AuditAlertSilenceOptions {
  /**
   * Names of the monitors silenced.
   * @default every monitor
   */
  monitors?: readonly string[];
  /**
   * When the silence begins: a `Date` or an ISO 8601 string, for a maintenance
   * window scheduled ahead. Until then it holds nothing. A time already past
   * begins it now.
   * @default now
   */
  startsAt?: Date | string;
  /** How long the silence lasts from `startsAt`, in milliseconds, at most `maxSilenceMs`. Give this or `until`. */
  durationMs?: number;
  /** When the silence ends (a `Date` or an ISO 8601 string), after `startsAt` and at most `maxSilenceMs` after it. Give this or `durationMs`. */
  until?: Date | string;
  /** Why alerts are held (a change ticket, a maintenance window): logged with every alert it holds. Required. */
  reason: string;
  /** Who sets the silence (a person, a team, a change system), for the auditor who asks. Required. */
  createdBy: string;
}

/** A silence: while it lasts, the alerts of its monitors are held, not lost. */
export interface AuditAlertSilence {
  /** Identifies the silence, for `unsilence(id)` and in log lines. */
  readonly id: string;
  /** The monitors silenced; `null` for every monitor. */
  readonly monitors: readonly string[] | null;
  /** Wall-clock time the silence begins to hold alerts. */
  readonly startsAt: Date;
  /** Wall-clock time it ends by itself. */
  readonly endsAt: Date;
  readonly reason: string;
  /** Who set it. */
  readonly createdBy: string;
}

/** A silence as `AuditMonitorRegistry.listSilences()` shows it. */
export interface AuditAlertSilenceListing extends AuditAlertSilence {
  /** `active` once `startsAt` has come, `scheduled` before. */
  readonly status: 'active' | 'scheduled';
  /** Events it has held so far (a repeat replacing the alert it repeats counts too). */
  readonly held: number;
}

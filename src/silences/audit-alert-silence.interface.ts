/** What `AuditMonitorRegistry.silence()` is given: which monitors, for how long, and why. */
export interface AuditAlertSilenceOptions {
  /**
   * Names of the monitors silenced.
   * @default every monitor
   */
  monitors?: readonly string[];
  /** How long the silence lasts, in milliseconds, at most `maxSilenceMs`. Give this or `until`. */
  durationMs?: number;
  /** When the silence ends, at most `maxSilenceMs` from now. Give this or `durationMs`. */
  until?: Date;
  /** Why alerts are held (a change ticket, a maintenance window): logged with every alert it holds. Required. */
  reason: string;
}

/** A silence: while it lasts, the alerts of its monitors are held, not lost. */
export interface AuditAlertSilence {
  /** Identifies the silence, for `unsilence(id)` and in log lines. */
  readonly id: string;
  /** The monitors silenced; `null` for every monitor. */
  readonly monitors: readonly string[] | null;
  /** Wall-clock time the silence was set. */
  readonly startsAt: Date;
  /** Wall-clock time it ends by itself. */
  readonly endsAt: Date;
  readonly reason: string;
}

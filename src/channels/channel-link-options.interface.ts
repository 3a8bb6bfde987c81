/**
 * A link shown with every alert of a monitor: its runbook, its dashboard. A
 * button in Slack, Teams, Google Chat and Discord, a link of the PagerDuty
 * incident, a line of the Opsgenie alert, a `links` field of the webhook body.
 *
 * ```ts
 * links: [{ text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit-storage' }]
 * ```
 */
export interface AuditAlertLink {
  /** What the button or link reads: 1 to 75 characters, on one line. */
  text: string;
  /** An absolute `https:` (or `http:`) URL of at most 2,000 characters, without `user:password@`. */
  url: string;
}

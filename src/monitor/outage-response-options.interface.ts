/** What `AuditMonitorRegistry.acknowledge()` takes. */
export interface AuditAcknowledgeOptions {
  /** Who acknowledges: a name, an e-mail address, an on-call handle (at most 200 characters). */
  by: string;
  /** What they say: what they are doing, where to follow (at most 1,000 characters). */
  note?: string;
}

/** What `AuditMonitorRegistry.annotate()` takes: `by`, and a `cause`, a `ticket` or both. */
export interface AuditAnnotateOptions {
  /** Who annotates (at most 200 characters). */
  by: string;
  /** What caused the outage (at most 2,000 characters). */
  cause?: string;
  /** Where it is followed: a ticket's id or URL (at most 500 characters). */
  ticket?: string;
}

/** Where an acknowledgement or an annotation came from: the application's call, or a PagerDuty webhook. */
export type AuditResponseSource = 'registry' | 'pagerduty';

/** An outage's acknowledgement, as `AuditMonitorRegistry.acknowledge()` answers it. */
export interface AuditOutageAcknowledgement {
  readonly outageId: string;
  /** The monitor whose outage it is. */
  readonly monitor: string;
  readonly by: string;
  readonly note: string | null;
  readonly acknowledgedAt: Date;
  /**
   * `true` when the outage had been acknowledged before: the first
   * acknowledgement stands, and is what this one is (its `by`, its `note`);
   * nothing was sent nor recorded again.
   */
  readonly alreadyAcknowledged: boolean;
}

/** An annotation of an outage, as `AuditMonitorRegistry.annotate()` answers it. */
export interface AuditOutageAnnotation {
  readonly outageId: string;
  readonly monitor: string;
  readonly by: string;
  readonly cause: string | null;
  readonly ticket: string | null;
  readonly annotatedAt: Date;
}

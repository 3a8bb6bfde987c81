/*
 * The evidence ledger's records. Each is one JSON line of the ledger, framed
 * by the writer with `seq`, `at`, `service`, `replica`, `prev` and `hash`;
 * what a part of the module hands to {@link AuditLedgerWriter.append} is the
 * record alone. Every time is a UTC ISO 8601 string; no record carries a
 * secret (a channel is named by its label: type and origin).
 */

/** The configuration at boot, secrets removed: AU-5's "defined time period" and "personnel or roles". */
export interface LedgerBootRecord {
  readonly kind: 'boot';
  readonly version: string;
  readonly monitors: readonly {
    readonly name: string;
    readonly thresholdMs: number;
    readonly cooldownMs: number;
    readonly [setting: string]: unknown;
  }[];
  readonly recipients: readonly {
    readonly recipient: string;
    readonly channel: string | null;
    readonly events: readonly string[];
    readonly monitors: readonly string[] | null;
  }[];
}

/** An event the module raised (an alert, a recovery, a spool's report, a test), as its recipients got it. */
export interface LedgerEventRecord {
  readonly kind: 'event';
  /** The event's fields, dates as ISO strings, `lastError` scrubbed as the event carries it. */
  readonly event: {
    readonly type: string;
    readonly monitor: string;
    readonly outageId?: string;
    readonly [field: string]: unknown;
  };
  /** `true` when a silence held it instead of sending it. */
  readonly held: boolean;
}

/** One delivery of one event to one recipient: one per recipient per event. */
export interface LedgerReceiptRecord {
  readonly kind: 'receipt';
  readonly recipient: string;
  readonly channel: string | null;
  readonly type: string;
  readonly monitor: string;
  readonly outageId: string | null;
  readonly occurrence: number | null;
  /** The receipt's result: `delivered`, `failed`, `timed-out` or `abandoned`. */
  readonly result: string;
  readonly attempts: number;
  readonly reason: string | null;
  readonly startedAt: string;
  readonly settledAt: string;
}

/** Someone responded to an outage. */
export interface LedgerAcknowledgedRecord {
  readonly kind: 'acknowledged';
  readonly outageId: string;
  readonly monitor: string;
  readonly by: string;
  readonly note: string | null;
  /**
   * When it was acknowledged, as `acknowledge()` answers and the event says
   * (under `cluster`, as Redis keeps it): the line's own `at` comes a moment later.
   */
  readonly acknowledgedAt: string;
  /** Where it came from: the registry, or a PagerDuty webhook. */
  readonly source: 'registry' | 'pagerduty';
}

/** The cause or ticket of an outage, as someone gave it. */
export interface LedgerAnnotatedRecord {
  readonly kind: 'annotated';
  readonly outageId: string;
  readonly monitor: string;
  readonly by: string;
  readonly cause: string | null;
  readonly ticket: string | null;
  readonly source: 'registry' | 'pagerduty';
}

/** A silence was created, or ended (expired or removed), with what it held; its fields as `AuditAlertSilence` names them. */
export interface LedgerSilenceRecord {
  readonly kind: 'silence-created' | 'silence-ended';
  readonly silenceId: string;
  readonly createdBy: string;
  readonly reason: string;
  /** The monitors silenced; `null` for every monitor. */
  readonly monitors: readonly string[] | null;
  readonly startsAt: string;
  readonly endsAt: string;
  /** On `silence-ended`: the events it held. */
  readonly held?: number;
  /** On `silence-ended`: whether it ran to its `endsAt` or was lifted before. */
  readonly ended?: 'expired' | 'removed';
}

/** The outcome of a monitor's `gapRecord` call for an outage. */
export interface LedgerGapRecord {
  readonly kind: 'gap-record';
  readonly outageId: string;
  readonly monitor: string;
  readonly from: string;
  readonly to: string;
  readonly result: 'written' | 'failed';
  readonly attempts: number;
  readonly reason: string | null;
}

/** A break of the ledger's own chain, found at boot. */
export interface LedgerBreakRecord {
  readonly kind: 'ledger-break';
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

/** Records the writer could not keep: its queue overflowed while the disk refused writes. */
export interface LedgerDroppedRecord {
  readonly kind: 'ledger-dropped';
  /** Records dropped, of which the first and last were appended at these times. */
  readonly count: number;
  readonly from: string;
  readonly to: string;
  /** Why the queue could not be written: the last write error. */
  readonly reason: string;
}

/**
 * Where a monitor's spool stands, recorded outside the spool's directory so
 * that its writer cannot cut records off unseen: written once the records of
 * an append are on disk (fsync'd), and before the replay moves past records
 * (see the spool's documentation for the order and why).
 */
export interface LedgerSpoolHeadRecord {
  readonly kind: 'spool-head';
  readonly monitor: string;
  /** The last record on the spool's disk, and its hash (as its line carries it). */
  readonly headSeq: number;
  readonly headHash: string;
  /** How far the replay may have gone: the spool never marks a record replayed past it. */
  readonly replayedSeq: number;
}

/** One record of the ledger, before the writer frames it. */
export type LedgerRecord =
  | LedgerBootRecord
  | LedgerEventRecord
  | LedgerReceiptRecord
  | LedgerAcknowledgedRecord
  | LedgerAnnotatedRecord
  | LedgerSilenceRecord
  | LedgerGapRecord
  | LedgerBreakRecord
  | LedgerDroppedRecord
  | LedgerSpoolHeadRecord;

/** A record as a line of the ledger. */
export type LedgerLine = LedgerRecord & {
  readonly seq: number;
  readonly at: string;
  readonly service: string;
  /** The process that wrote it: `hostname:pid`. */
  readonly replica: string;
  readonly prev: string;
  readonly hash: string;
};

/**
 * Where every part of the module records evidence; provided as
 * `AUDIT_ALERT_LEDGER`, `null` without the `ledger` option.
 */
export interface AuditLedgerWriter {
  /** Appends `record`; never throws and never waits: the writer orders, fsyncs and reports its own failures. */
  append(record: LedgerRecord): void;
  /**
   * Appends `record` as {@link append} does, and resolves once its line is on
   * disk (fsync'd): `true`; or `false` when it never will be (the ledger closed
   * first, or dropped it with its queue full). Never rejects; while the
   * ledger's disk refuses writes, it waits for the retries.
   */
  appendSynced(record: LedgerRecord): Promise<boolean>;
}

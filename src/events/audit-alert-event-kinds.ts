import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertEvent, StorageCapacityEvent } from './audit-alert-event.interface.js';
import type { AuditEpisodeKind, AuditEpisodeStep } from './audit-episode.js';

/** The event whose `type` is `T`. */
export type AuditAlertEventOf<T extends AuditAlertEventType> = Extract<AuditAlertEvent, { readonly type: T }>;

/**
 * One function per event type, each given the event of its type: how a
 * channel renders events. Declare a renderer `satisfies AuditAlertEventRenderers<…>`
 * and an event type it does not render fails to compile.
 * @typeParam A What every function takes after the event.
 */
export type AuditAlertEventRenderers<R, A extends readonly unknown[] = []> = {
  readonly [T in AuditAlertEventType]: (event: AuditAlertEventOf<T>, ...args: A) => R;
};

/** Calls the function of `renderers` for the type of `event`. */
export function renderEvent<R, A extends readonly unknown[]>(
  renderers: AuditAlertEventRenderers<R, A>,
  event: AuditAlertEvent,
  ...args: A
): R {
  // The mapped type pairs each type with its event; TypeScript cannot follow that through an index.
  return (renderers[event.type] as (event: AuditAlertEvent, ...args: A) => R)(event, ...args);
}

/** What every event of one type shares, whoever renders it. */
interface AuditAlertEventKind<E extends AuditAlertEvent> {
  /** The kind of episode it belongs to. */
  readonly episode: AuditEpisodeKind;
  /** Whether it opens (or repeats into) its episode, closes it, or is the whole of it. */
  readonly step: AuditEpisodeStep | ((event: E) => AuditEpisodeStep);
  /**
   * Its episode's key: what deduplicates it downstream and orders it behind the
   * earlier events of its episode.
   */
  readonly key: (event: E) => string;
  /** How a log line names that key. */
  readonly keyName: 'outage' | 'test';
  /** Which alert of its episode it is: for the events that count them (`occurrence`), else `null`. */
  readonly occurrence: [E] extends [{ readonly occurrence: number }] ? (event: E) => number : null;
}

/** A row of {@link AUDIT_ALERT_EVENT_KINDS} as any event may read it. */
interface AnyEventKind {
  readonly episode: AuditEpisodeKind;
  readonly step: AuditEpisodeStep | ((event: AuditAlertEvent) => AuditEpisodeStep);
  readonly key: (event: AuditAlertEvent) => string;
  readonly keyName: 'outage' | 'test';
  readonly occurrence: ((event: AuditAlertEvent) => number) | null;
}

const outageIdOf = (event: { readonly outageId: string }): string => event.outageId;
const occurrenceOf = (event: { readonly occurrence: number }): number => event.occurrence;

/**
 * Every event type and what is common to its events. Adding an event type
 * means a row here, then a renderer per channel: the compiler asks for both.
 */
export const AUDIT_ALERT_EVENT_KINDS = {
  'audit.storage.unreachable': {
    episode: 'outage',
    step: 'opens',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: occurrenceOf,
  },
  'audit.storage.degraded': {
    episode: 'outage',
    step: 'opens',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: occurrenceOf,
  },
  'audit.storage.recovered': {
    episode: 'outage',
    step: 'closes',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.storage.capacity': {
    episode: 'capacity',
    step: (event: StorageCapacityEvent) => (event.level === 'normal' ? 'closes' : 'opens'),
    key: outageIdOf,
    keyName: 'outage',
    occurrence: occurrenceOf,
  },
  'audit.records.rejected': {
    episode: 'rejected',
    step: 'opens',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: occurrenceOf,
  },
  'audit.spool.unwritable': {
    episode: 'spool',
    step: 'opens',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.spool.replayed': {
    episode: 'replay',
    step: 'once',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.spool.quarantined': {
    episode: 'quarantine',
    step: 'once',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.ledger.broken': {
    episode: 'ledger',
    step: 'once',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.alert.test': {
    episode: 'test',
    step: 'once',
    key: (event) => event.testId,
    keyName: 'test',
    occurrence: null,
  },
  'audit.alert.acknowledged': {
    episode: 'outage',
    step: 'answers',
    key: outageIdOf,
    keyName: 'outage',
    occurrence: null,
  },
  'audit.alert.test.failed': {
    episode: 'test',
    step: 'once',
    // One per failing recipient of a test: each its own key downstream.
    key: (event) => `${event.testId}:${event.recipient}`,
    keyName: 'test',
    occurrence: null,
  },
} as const satisfies { readonly [T in AuditAlertEventType]: AuditAlertEventKind<AuditAlertEventOf<T>> };

/** The row of {@link AUDIT_ALERT_EVENT_KINDS} of `event`'s type. */
function kindOf(event: AuditAlertEvent): AnyEventKind {
  // Each row is typed for the events of its own type (checked above), which `event` is.
  return AUDIT_ALERT_EVENT_KINDS[event.type] as AnyEventKind;
}

/** The kinds of episode that some event type can close. */
const CLOSABLE_EPISODES: ReadonlySet<AuditEpisodeKind> = new Set(
  Object.values(AUDIT_ALERT_EVENT_KINDS as Record<string, AnyEventKind>)
    // A step that depends on the event (capacity's level) may close.
    .filter((kind) => kind.step === 'closes' || typeof kind.step === 'function')
    .map((kind) => kind.episode),
);

/**
 * Whether an event will ever close the episode of `event` (an outage's
 * recovery, a capacity level back to normal). A receiver that keeps an
 * incident open per episode must not open one that nothing will close.
 */
export function episodeClosesLater(event: AuditAlertEvent): boolean {
  return CLOSABLE_EPISODES.has(episodeOf(event)) && episodeStepOf(event) !== 'once';
}

/** The kind of episode `event` belongs to. */
export function episodeOf(event: AuditAlertEvent): AuditEpisodeKind {
  return kindOf(event).episode;
}

/** Whether `event` opens (or repeats into) its episode, closes it, or is the whole of it. */
export function episodeStepOf(event: AuditAlertEvent): AuditEpisodeStep {
  const { step } = kindOf(event);
  return typeof step === 'function' ? step(event) : step;
}

/**
 * What orders an event among others and deduplicates it downstream: its
 * episode's id (`outageId`), or a test's own id.
 */
export function eventKeyOf(event: AuditAlertEvent): string {
  return kindOf(event).key(event);
}

/** How a log line names the key of `event`: `outage` or `test`. */
export function eventKeyNameOf(event: AuditAlertEvent): 'outage' | 'test' {
  return kindOf(event).keyName;
}

/** Which alert of its episode `event` is, or `null` for an event that does not count them. */
export function eventOccurrenceOf(event: AuditAlertEvent): number | null {
  return kindOf(event).occurrence?.(event) ?? null;
}

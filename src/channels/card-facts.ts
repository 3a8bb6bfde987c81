import type { AuditAlertEventType } from '../audit-alert.constants.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { type PlainMessage, plainMessage } from './plain-message.js';

/** A row of a card: its name, and its value before the receiver's escaping; a date is shown each receiver's way. */
type CardFact = PlainMessage['facts'][number];

/**
 * What the Slack message and the Teams card list under their lead sentence,
 * and what names the episode, for each to lay out its own way.
 */
interface CardFacts {
  readonly facts: readonly CardFact[];
  /** What names the episode (`Outage`, `Test`…) and its id; `null` when the card shows none. */
  readonly key: PlainMessage['key'] | null;
}

/**
 * What the cards leave out of the plain message's rows: a row their lead
 * sentence already names; and, for the spool's replay and quarantine and the
 * ledger's break, the episode key.
 */
const LEFT_OUT: Partial<Record<AuditAlertEventType, { readonly facts?: readonly string[]; readonly key?: true }>> = {
  'audit.spool.replayed': { key: true },
  'audit.spool.quarantined': { facts: ['Quarantine file'], key: true },
  'audit.ledger.broken': { facts: ['File'], key: true },
  'audit.alert.acknowledged': { facts: ['Acknowledged by'] },
};

/** The rows and episode key of `event`'s card, taken from its plain message. */
export function cardFacts(event: AuditAlertEvent, plain: PlainMessage = plainMessage(event)): CardFacts {
  const left = LEFT_OUT[event.type];
  return {
    facts: plain.facts.filter(([name]) => left?.facts?.includes(name) !== true),
    key: left?.key === true ? null : plain.key,
  };
}

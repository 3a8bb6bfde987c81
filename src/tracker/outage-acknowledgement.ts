/**
 * Someone's answer to an open outage: who, when, and what they said. An
 * acknowledged outage raises no more repeats until it ends (a sticky
 * acknowledgement, as Nagios has it); its recovery is still announced.
 */
export interface OutageAcknowledgement {
  /** Who acknowledged it: a name, an e-mail address, an on-call handle. */
  readonly by: string;
  /** What they said, if anything. */
  readonly note: string | null;
  /** Wall-clock time of the acknowledgement, in milliseconds. */
  readonly at: number;
}

/**
 * What acknowledging an outage came to:
 * - `acknowledged`: it is now, by `acknowledgement`;
 * - `already`: it was before, by `acknowledgement` (the first one stands);
 * - `not-alerted`: it is open but no alert of it has been sent yet: nothing to answer;
 * - `unknown`: no open outage has this id (never, or ended).
 */
export type OutageAcknowledgeResult =
  | {
      readonly result: 'acknowledged' | 'already';
      readonly acknowledgement: OutageAcknowledgement;
      /** Wall-clock time of the outage's first failure, in milliseconds. */
      readonly firstFailureAt: number;
    }
  | { readonly result: 'not-alerted' | 'unknown' };

/** The longest `by` an acknowledgement keeps, in characters. */
export const MAX_ACKNOWLEDGED_BY = 200;
/** The longest note an acknowledgement keeps, in characters. */
export const MAX_ACKNOWLEDGEMENT_NOTE = 1_000;

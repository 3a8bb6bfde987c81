import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditAlertSilence } from './audit-alert-silence.interface.js';

/** A silence as a store keeps it, with the number of events it has held. */
export interface KeptSilence extends AuditAlertSilence {
  readonly held: number;
}

/** An alert a silence holds, as a store keeps it, so that it outlives the process that held it. */
export interface HeldAlert {
  /** The monitor and the kind of episode: events of one key replace one another while held. */
  readonly key: string;
  /** Changes each time the alert of the key is replaced, so that a replaced alert is never sent. */
  readonly version: string;
  /** The silence that held it last. */
  readonly silenceId: string;
  readonly event: AuditAlertEvent;
  /** Wall-clock time it was held, to bring its duration up to date when it is sent. */
  readonly heldAt: number;
  /**
   * The first occurrence of its episode held: `1` means no alert of the
   * episode has gone out (here or, with `cluster`, from any replica).
   */
  readonly firstHeld: number;
  /** Whether an alert of its episode went out before it was held. */
  readonly alertedBefore: boolean;
}

/** What a store holds at a time. */
export interface SilencesRead {
  /** The silences that have not ended: active and scheduled, in the order they begin. */
  readonly silences: KeptSilence[];
  /** The silences that ended by then, each given to one reader only, so that its end is recorded once. */
  readonly ended: KeptSilence[];
  /** Every alert held, by any process sharing the store. */
  readonly held: HeldAlert[];
}

/** What {@link SilenceStore.take} decides for a held alert. */
export type HeldAlertClaim = 'send' | 'drop' | 'gone';

/**
 * Where the silences and the alerts they hold live: in the process (and in
 * the `state` file when there is one), or in Redis when `cluster` is set, so
 * that every replica obeys a silence set on one, and a held alert outlives
 * the process that held it.
 */
export interface SilenceStore {
  /** Keeps `silence` until it ends; set at `now`. */
  add(silence: AuditAlertSilence, now: number): Promise<void>;
  /** Ends the silence `id` early: the silence to the one caller that removed it, `null` when there was none. */
  remove(id: string): Promise<KeptSilence | null>;
  /** The silences, those that ended by `now`, and the held alerts. */
  read(now: number): Promise<SilencesRead>;
  /** Keeps `held` in place of any alert of its key, and counts one event held by its silence, which ends at `endsAt`. */
  hold(held: HeldAlert, now: number, endsAt: number): Promise<void>;
  /**
   * Claims `held` to send it, once no silence covers it: `send` to one caller
   * only (until {@link forget}, or for a lease when shared); `drop` when the
   * outage it announces has ended; `gone` when it was replaced or taken.
   */
  take(held: HeldAlert, now: number): Promise<HeldAlertClaim>;
  /** Forgets the alert held under `key`: only that `version` of it, or any alert of that `episode`. */
  forget(key: string, match: { readonly version: string } | { readonly episode: string }): Promise<void>;
}

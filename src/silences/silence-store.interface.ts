import type { AuditAlertSilence } from './audit-alert-silence.interface.js';

/**
 * Where the silences live: in the process by default, in Redis when
 * `cluster` is set, so that every replica obeys a silence set on one.
 */
export interface SilenceStore {
  /** Keeps `silence` until it ends. */
  add(silence: AuditAlertSilence): Promise<void>;
  /** Ends the silence `id` early; `false` when there is no such silence (any more). */
  remove(id: string): Promise<boolean>;
  /** The silences that have not ended at `now`, in the order they were set. */
  list(now: number): Promise<AuditAlertSilence[]>;
}

/** The silences of this process alone. */
export class InProcessSilenceStore implements SilenceStore {
  private readonly silences = new Map<string, AuditAlertSilence>();

  add(silence: AuditAlertSilence): Promise<void> {
    this.silences.set(silence.id, silence);
    return Promise.resolve();
  }

  remove(id: string): Promise<boolean> {
    return Promise.resolve(this.silences.delete(id));
  }

  list(now: number): Promise<AuditAlertSilence[]> {
    for (const [id, silence] of this.silences) if (silence.endsAt.getTime() <= now) this.silences.delete(id);
    return Promise.resolve([...this.silences.values()]);
  }
}

import type { AuditAlertSilence } from './audit-alert-silence.interface.js';
import { decodeHeld, decodeSilence, encodeHeld, encodeSilence } from './silence-codec.util.js';
import type { HeldAlert, HeldAlertClaim, KeptSilence, SilenceStore, SilencesRead } from './silence-store.interface.js';
import { eventKeyOf } from '../events/audit-alert-event-kinds.js';

/** Where the silences of a single process are kept across restarts: the `state` file's section for them. */
interface SilencesKeeper {
  /** What an earlier process kept, as it was written; `undefined` when nothing was. */
  saved(): unknown;
  /** Keeps `section` in place of what was kept, soon and durably. */
  keep(section: unknown): void;
}

/**
 * The silences of this process alone, and the alerts they hold; written to
 * the `state` file on each change when there is one, so that a restarted
 * process obeys the silences set before it and sends what they held.
 */
export class InProcessSilenceStore implements SilenceStore {
  private readonly silences = new Map<string, KeptSilence>();
  private readonly held = new Map<string, HeldAlert>();

  private restored = false;

  constructor(private readonly keeper: SilencesKeeper | null = null) {}

  /** Reads what an earlier process kept, on first use: the state file is read once the monitors are made. */
  private restore(): void {
    if (this.restored) return;
    this.restored = true;
    const saved = this.keeper?.saved() as { silences?: unknown; held?: unknown } | undefined;
    for (const value of Array.isArray(saved?.silences) ? saved.silences : []) {
      const silence = decodeSilence(value);
      if (silence) this.silences.set(silence.id, silence);
    }
    for (const value of Array.isArray(saved?.held) ? saved.held : []) {
      const held = decodeHeld(value);
      if (held) this.held.set(held.key, held);
    }
  }

  add(silence: AuditAlertSilence): Promise<void> {
    this.restore();
    this.silences.set(silence.id, { ...silence, held: 0 });
    this.persist();
    return Promise.resolve();
  }

  remove(id: string): Promise<KeptSilence | null> {
    this.restore();
    const silence = this.silences.get(id) ?? null;
    if (silence) this.silences.delete(id);
    this.persist();
    return Promise.resolve(silence);
  }

  read(now: number): Promise<SilencesRead> {
    this.restore();
    const ended: KeptSilence[] = [];
    for (const [id, silence] of this.silences) {
      if (silence.endsAt.getTime() > now) continue;
      this.silences.delete(id);
      ended.push(silence);
    }
    if (ended.length > 0) this.persist();
    const silences = [...this.silences.values()].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    return Promise.resolve({ silences, ended, held: [...this.held.values()] });
  }

  hold(held: HeldAlert): Promise<void> {
    this.restore();
    this.held.set(held.key, held);
    const silence = this.silences.get(held.silenceId);
    if (silence) this.silences.set(silence.id, { ...silence, held: silence.held + 1 });
    this.persist();
    return Promise.resolve();
  }

  take(held: HeldAlert): Promise<HeldAlertClaim> {
    this.restore();
    // One process alone: it releases what it holds itself, and kept it until delivered.
    return Promise.resolve(this.held.get(held.key)?.version === held.version ? 'send' : 'gone');
  }

  forget(key: string, match: { readonly version: string } | { readonly episode: string }): Promise<void> {
    this.restore();
    const held = this.held.get(key);
    const matches =
      held !== undefined &&
      ('version' in match ? held.version === match.version : eventKeyOf(held.event) === match.episode);
    if (matches) {
      this.held.delete(key);
      this.persist();
    }
    return Promise.resolve();
  }

  private persist(): void {
    this.keeper?.keep({
      silences: [...this.silences.values()].map(encodeSilence),
      held: [...this.held.values()].map(encodeHeld),
    });
  }
}

import { AuditAlertEvents } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  describeEvent,
  silenceDropped,
  silenceEnded,
  silenceHeld,
  silenceRefreshFailed,
  silenceReleased,
  silenceSet,
} from '../audit-alert.messages.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { Subject } from 'rxjs';
import type { AuditAlertDispatchGate } from '../dispatch/audit-alert.dispatcher.js';
import { episodeOf, episodeStepOf, eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import type { AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditAlertSilence } from './audit-alert-silence.interface.js';
import type { SilenceStore } from './silence-store.interface.js';

/** Episodes remembered as alerted at most, oldest forgotten first. */
const MAX_SENT_EPISODES = 1_000;

/** How often a replica reads the silences the others set, when they are shared through Redis. */
export const SILENCE_REFRESH_MS = 5_000;

/** An alert kept back by a silence, until the silence ends or its outage does. */
interface HeldAlert {
  readonly event: AuditAlertEvent;
  /** Monotonic time it was held, to bring its duration up to date when it is sent. */
  readonly heldAt: number;
  /**
   * The first occurrence of its episode held: `1` means no alert of the
   * episode has gone out (here or, with `cluster`, from any replica).
   */
  readonly firstHeld: number;
}

/**
 * The silences, and the gate the dispatcher consults before sending an event.
 *
 * While a silence covers a monitor, its alerts are held: the latest one of
 * each kind per monitor is kept (with a warning naming the silence and its
 * reason, and a metric), and sent, brought up to date, once no silence covers
 * the monitor any more, if its outage is still open. An event that closes an
 * episode (a recovery) is sent whatever the silences, unless the alert it
 * closes is the one being held: then neither goes out, as the whole outage
 * fell within the silence. Test alerts are never held.
 *
 * Silences are kept in a {@link SilenceStore}; when it is shared (Redis),
 * each replica reads it every {@link SILENCE_REFRESH_MS} and decides on what
 * it read last, so the gate never waits for the network.
 */
export class AuditAlertSilences implements AuditAlertDispatchGate {
  private readonly releases = new Subject<AuditAlertEvent>();
  readonly released = this.releases.asObservable();
  private readonly logger = new AuditAlertLogger();
  /** The silences as last read, which the gate decides on. */
  private active: AuditAlertSilence[] = [];
  private readonly held = new Map<string, HeldAlert>();
  /** Episodes (outages, capacity episodes) an alert of which went out from here, until they close. */
  private readonly sentEpisodes = new Set<string>();
  private endTimer: AuditAlertTimer | null = null;
  private refreshTimer: AuditAlertTimer | null = null;
  /** Whether the last read of a shared store failed: said once, not every few seconds. */
  private refreshFailing = false;
  private closed = false;

  /**
   * @param statusOf What a monitor knows now, to tell whether a held alert's outage is still open.
   * @param shared Whether other replicas set silences too, so that the store must be read again and again.
   */
  constructor(
    private readonly store: SilenceStore,
    private readonly shared: boolean,
    private readonly clock: AuditAlertClock,
    private readonly metrics: AuditAlertMetrics,
    private readonly statusOf: (monitor: string) => AuditStorageStatus,
  ) {}

  /** Reads the silences the store already holds (other replicas'), and keeps reading them if shared. */
  async start(): Promise<void> {
    await this.refresh();
    this.armRefresh();
  }

  /** Stops every timer; held alerts stay held, as the application is going away. */
  close(): void {
    this.closed = true;
    for (const timer of [this.endTimer, this.refreshTimer]) if (timer !== null) this.clock.clearTimer(timer);
    this.endTimer = null;
    this.refreshTimer = null;
  }

  /** Keeps `silence` and starts applying it. */
  async add(silence: AuditAlertSilence): Promise<void> {
    await this.store.add(silence);
    this.logger.log(silenceSet(silence));
    this.apply([...this.active.filter((s) => s.id !== silence.id), silence]);
  }

  /** Ends the silence `id`; alerts it held go out now. */
  async remove(id: string): Promise<boolean> {
    const removed = await this.store.remove(id);
    if (removed) this.logger.log(silenceEnded(id));
    this.apply(this.active.filter((silence) => silence.id !== id));
    return removed;
  }

  /** The silences in force, as the store has them now. */
  async list(): Promise<AuditAlertSilence[]> {
    const silences = await this.store.list(this.clock.wallNow());
    this.apply(silences);
    return silences;
  }

  admit(event: AuditAlertEvent): boolean {
    if (event.type === AuditAlertEvents.Test) return true;
    // Events of one episode kind replace one another while held: an outage's alerts, a capacity episode's warnings.
    const key = `${event.monitor}\u0000${episodeOf(event)}`;
    const episode = `${key}\u0000${eventKeyOf(event)}`;
    const held = this.held.get(key);
    const sameEpisode = held !== undefined && eventKeyOf(held.event) === eventKeyOf(event);
    if (episodeStepOf(event) === 'closes') {
      const alerted = this.sentEpisodes.delete(episode);
      if (!sameEpisode) return true;
      this.held.delete(key);
      // An alert of the episode went out before the silence (from here, or from another replica
      // when the held one is a repeat): its end goes out too, or an incident stays open.
      if (alerted || held.firstHeld > 1) return true;
      // The outage began and ended within the silence: neither its alert nor its end is sent.
      this.metrics.alertSilenced(event);
      this.logger.warn(silenceDropped(describeEvent(event), describeEvent(held.event)));
      return false;
    }
    const silence = this.covering(event.monitor);
    if (silence === null) {
      this.held.delete(key);
      this.noteSent(episode);
      return true;
    }
    const occurrence = 'occurrence' in event ? event.occurrence : 1;
    const firstHeld = sameEpisode ? Math.min(held.firstHeld, occurrence) : occurrence;
    this.held.set(key, { event, heldAt: this.clock.monotonicNow(), firstHeld });
    this.metrics.alertSilenced(event);
    this.logger.warn(silenceHeld(describeEvent(event), silence));
    return false;
  }

  private noteSent(episode: string): void {
    // Bounded: without notifyRecovery, no outage ever closes.
    if (this.sentEpisodes.size >= MAX_SENT_EPISODES) this.sentEpisodes.delete(this.sentEpisodes.values().next().value!);
    this.sentEpisodes.add(episode);
  }

  /** The silence covering `monitor` now, if any. */
  private covering(monitor: string): AuditAlertSilence | null {
    const now = this.clock.wallNow();
    return (
      this.active.find(
        (silence) =>
          silence.endsAt.getTime() > now && (silence.monitors === null || silence.monitors.includes(monitor)),
      ) ?? null
    );
  }

  /** Takes `silences` as the ones in force, sends what they no longer hold, and arms the next end. */
  private apply(silences: AuditAlertSilence[]): void {
    const now = this.clock.wallNow();
    this.active = silences.filter((silence) => silence.endsAt.getTime() > now);
    this.releaseUncovered();
    this.armEnd();
  }

  private releaseUncovered(): void {
    for (const [key, held] of this.held) {
      if (this.covering(held.event.monitor) !== null) continue;
      this.held.delete(key);
      const event = this.current(held);
      if (event === null) continue;
      this.noteSent(`${key}\u0000${eventKeyOf(event)}`);
      this.logger.log(silenceReleased(describeEvent(event)));
      this.releases.next(event);
    }
  }

  /**
   * A held alert as it would read now: an unreachable alert takes the
   * outage's current failures, probe failures, error and duration; `null` when its outage has
   * ended in the meantime (without a recovery to announce).
   */
  private current({ event, heldAt }: HeldAlert): AuditAlertEvent | null {
    if (event.type !== AuditAlertEvents.StorageUnreachable && event.type !== AuditAlertEvents.StorageDegraded) {
      return event;
    }
    const status = this.statusOf(event.monitor);
    if (status.state === 'healthy' || status.firstFailureAt?.getTime() !== event.firstFailureAt.getTime()) {
      return null;
    }
    if (event.type === AuditAlertEvents.StorageDegraded) return event;
    return {
      ...event,
      consecutiveFailures: status.consecutiveFailures,
      probeFailures: status.probeFailures,
      lastError: status.lastError ?? event.lastError,
      unreachableDurationMs: Math.round(event.unreachableDurationMs + (this.clock.monotonicNow() - heldAt)),
    };
  }

  private armEnd(): void {
    if (this.endTimer !== null) this.clock.clearTimer(this.endTimer);
    this.endTimer = null;
    if (this.closed || this.active.length === 0) return;
    const nextEnd = Math.min(...this.active.map((silence) => silence.endsAt.getTime()));
    this.endTimer = this.clock.setTimer(
      () => {
        this.endTimer = null;
        this.apply(this.active);
      },
      Math.max(0, nextEnd - this.clock.wallNow()),
    );
  }

  private armRefresh(): void {
    if (!this.shared || this.closed) return;
    this.refreshTimer = this.clock.setTimer(() => {
      this.refreshTimer = null;
      void this.refresh().finally(() => this.armRefresh());
    }, SILENCE_REFRESH_MS);
  }

  /** Reads the store again; if it cannot be read, the silences last read stay in force. */
  private async refresh(): Promise<void> {
    try {
      await this.list();
      this.refreshFailing = false;
    } catch (error) {
      if (!this.refreshFailing) this.logger.warn(silenceRefreshFailed(errorText(error)));
      this.refreshFailing = true;
    }
  }
}

import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { AuditAlertEvents } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  describeEvent,
  silenceDropped,
  silenceEnded,
  silenceHeld,
  silenceHeldUnshared,
  silenceRefreshFailed,
  silenceReleased,
  silenceSet,
} from '../audit-alert.messages.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { AuditAlertDispatchGate } from '../dispatch/audit-alert.dispatcher.js';
import { episodeOf, episodeStepOf, eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import type { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import type { AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import type { AuditAlertSilence, AuditAlertSilenceListing } from './audit-alert-silence.interface.js';
import type { HeldAlert, KeptSilence, SilenceStore, SilencesRead } from './silence-store.interface.js';

/** Episodes remembered as alerted at most, oldest forgotten first. */
const MAX_SENT_EPISODES = 1_000;

/** How often a replica reads the silences the others set, when they are shared through Redis. */
export const SILENCE_REFRESH_MS = 5_000;

/**
 * The silences, and the gate the dispatcher consults before sending an event.
 *
 * While a silence covers a monitor (from its `startsAt` to its `endsAt`), its
 * alerts are held: the latest one of each kind per monitor is kept (with a
 * warning naming the silence and its reason, and a metric), and sent, brought
 * up to date, once no silence covers the monitor any more, if its outage is
 * still open. An event that closes an episode (a recovery) is sent whatever
 * the silences, unless the alert it closes is the one being held: then
 * neither goes out, as the whole outage fell within the silence. Test alerts
 * are never held.
 *
 * Silences and held alerts are kept in a {@link SilenceStore}, so that a held
 * alert outlives the process that held it (in the state file, or in Redis).
 * When the store is shared (Redis), each replica reads it every
 * {@link SILENCE_REFRESH_MS} and decides on what it read last, so the gate
 * never waits for the network; a held alert goes out from the one replica
 * that claims it, the one that held it or, should that one have died, another.
 * Each silence's creation and end are recorded in the ledger, once.
 */
export class AuditAlertSilences implements AuditAlertDispatchGate {
  private readonly releases = new Subject<AuditAlertEvent>();
  readonly released = this.releases.asObservable();
  private readonly logger = new AuditAlertLogger();
  /** The silences that have not ended, active and scheduled, as last read: the gate decides on them. */
  private silences: KeptSilence[] = [];
  /** This process's held alerts, by key. */
  private readonly held = new Map<string, HeldAlert>();
  /** With a shared store, the alerts other replicas hold, as last read. */
  private others: HeldAlert[] = [];
  /** Versions of other replicas' held alerts being claimed, so that each is claimed once at a time. */
  private readonly releasing = new Set<string>();
  /** When this replica first found another's held alert uncovered, by version. */
  private readonly uncoveredSince = new Map<string, number>();
  /** Released events waiting for their deliveries to settle. */
  private readonly sending = new Map<AuditAlertEvent, () => void>();
  /** Episodes (outages, capacity episodes) an alert of which went out from here, until they close. */
  private readonly sentEpisodes = new Set<string>();
  private boundaryTimer: AuditAlertTimer | null = null;
  private refreshTimer: AuditAlertTimer | null = null;
  /** Whether the last read of a shared store failed: said once, not every few seconds. */
  private refreshFailing = false;
  private closed = false;
  /** Whether the store has been read once, and what it held taken as this process's. */
  private restored = false;

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
    private readonly ledger: AuditLedgerWriter | null,
  ) {}

  /** Reads the silences and held alerts the store already holds (other replicas', an earlier process's), and keeps reading them if shared. */
  async start(): Promise<void> {
    await this.refresh();
    this.armRefresh();
  }

  /** Stops every timer; held alerts stay held (and kept), as the application is going away. */
  close(): void {
    this.closed = true;
    for (const timer of [this.boundaryTimer, this.refreshTimer]) if (timer !== null) this.clock.clearTimer(timer);
    this.boundaryTimer = null;
    this.refreshTimer = null;
  }

  /** Keeps `silence` and starts applying it; records it in the ledger. */
  async add(silence: AuditAlertSilence): Promise<void> {
    const now = this.clock.wallNow();
    await this.store.add(silence, now);
    this.logger.log(silenceSet(silence, now));
    this.record('silence-created', silence);
    this.apply([...this.silences.filter((s) => s.id !== silence.id), { ...silence, held: 0 }]);
  }

  /** Ends the silence `id`; alerts it held go out now. */
  async remove(id: string): Promise<boolean> {
    const removed = await this.store.remove(id);
    if (removed) {
      this.logger.log(silenceEnded(id));
      this.record('silence-ended', removed, 'removed');
    }
    this.apply(this.silences.filter((silence) => silence.id !== id));
    return removed !== null;
  }

  /** The silences that have not ended, active and scheduled, as the store has them now. */
  async list(): Promise<AuditAlertSilenceListing[]> {
    const read = await this.store.read(this.clock.wallNow());
    this.absorb(read);
    const now = this.clock.wallNow();
    return read.silences.map(({ held, ...silence }) => ({
      ...silence,
      status: silence.startsAt.getTime() > now ? 'scheduled' : 'active',
      held,
    }));
  }

  /** The dispatcher has settled every delivery of `event`, which this gate released. */
  sent(event: AuditAlertEvent): void {
    this.sending.get(event)?.();
    this.sending.delete(event);
  }

  admit(event: AuditAlertEvent): boolean {
    if (event.type === AuditAlertEvents.Test) return true;
    // Events of one episode kind replace one another while held: an outage's alerts, a capacity episode's warnings.
    const key = `${event.monitor}\u0000${episodeOf(event)}`;
    const episode = eventKeyOf(event);
    const sentKey = `${key}\u0000${episode}`;
    const held = this.held.get(key);
    const sameEpisode = held !== undefined && eventKeyOf(held.event) === episode;
    if (episodeStepOf(event) === 'closes') {
      const alerted = this.sentEpisodes.delete(sentKey);
      // Whoever holds an alert of the episode, it is over: it is never sent.
      if (sameEpisode || this.shared) this.keep(() => this.store.forget(key, { episode }), event);
      if (!sameEpisode) return true;
      this.held.delete(key);
      // An alert of the episode went out before the silence (from here, or from another replica
      // when the held one is a repeat): its end goes out too, or an incident stays open.
      if (alerted || held.alertedBefore || held.firstHeld > 1) return true;
      // The outage began and ended within the silence: neither its alert nor its end is sent.
      this.metrics.alertSilenced(event);
      this.logger.warn(silenceDropped(describeEvent(event), describeEvent(held.event)));
      return false;
    }
    const silence = this.covering(event.monitor);
    if (silence === null) {
      // A newer event of the kind goes out: the one held before it never will.
      if (held !== undefined) {
        this.held.delete(key);
        this.keep(() => this.store.forget(key, { version: held.version }), event);
      }
      this.noteSent(sentKey);
      return true;
    }
    const occurrence = 'occurrence' in event ? event.occurrence : 1;
    const kept: HeldAlert = {
      key,
      version: randomUUID(),
      silenceId: silence.id,
      event,
      heldAt: this.clock.wallNow(),
      firstHeld: sameEpisode ? Math.min(held.firstHeld, occurrence) : occurrence,
      alertedBefore: sameEpisode ? held.alertedBefore : this.sentEpisodes.has(sentKey),
    };
    this.held.set(key, kept);
    this.silences = this.silences.map((s) => (s.id === silence.id ? { ...s, held: s.held + 1 } : s));
    this.keep(() => this.store.hold(kept, kept.heldAt, silence.endsAt.getTime()), event);
    this.metrics.alertSilenced(event);
    this.logger.warn(silenceHeld(describeEvent(event), silence));
    return false;
  }

  /** Runs a change of the store off the alert path; one that fails leaves this process the one that knows. */
  private keep(change: () => Promise<void>, event: AuditAlertEvent): void {
    void change().catch((error: unknown) =>
      this.logger.warn(silenceHeldUnshared(describeEvent(event), errorText(error))),
    );
  }

  private noteSent(episode: string): void {
    // Bounded: without notifyRecovery, no outage ever closes.
    if (this.sentEpisodes.size >= MAX_SENT_EPISODES) this.sentEpisodes.delete(this.sentEpisodes.values().next().value!);
    this.sentEpisodes.add(episode);
  }

  /** The silence covering `monitor` now, if any: begun, not ended. */
  private covering(monitor: string): KeptSilence | null {
    const now = this.clock.wallNow();
    return (
      this.silences.find(
        (silence) =>
          silence.startsAt.getTime() <= now &&
          silence.endsAt.getTime() > now &&
          (silence.monitors === null || silence.monitors.includes(monitor)),
      ) ?? null
    );
  }

  /** Takes what the store holds: records the ends it reports, and applies its silences. */
  private absorb(read: SilencesRead): void {
    for (const silence of read.ended) this.record('silence-ended', silence, 'expired');
    if (this.shared) {
      this.others = read.held.filter((held) => this.held.get(held.key)?.version !== held.version);
      const versions = new Set(this.others.map((held) => held.version));
      for (const version of this.uncoveredSince.keys()) if (!versions.has(version)) this.uncoveredSince.delete(version);
    } else if (!this.restored) {
      // The store is this process's own: what it held before a restart is this gate's to send.
      for (const held of read.held) if (!this.held.has(held.key)) this.held.set(held.key, held);
    }
    this.restored = true;
    this.apply(read.silences);
  }

  /** Takes `silences` as the ones that have not ended, sends what they no longer hold, and arms the next boundary. */
  private apply(silences: KeptSilence[]): void {
    const now = this.clock.wallNow();
    this.silences = silences.filter((silence) => silence.endsAt.getTime() > now);
    for (const held of this.held.values()) if (this.covering(held.event.monitor) === null) this.release(held);
    for (const held of this.others) {
      if (this.covering(held.event.monitor) !== null || this.releasing.has(held.version)) continue;
      // The replica that held it sends it as its silence ends; another steps in only if it has not, a read later.
      const since = this.uncoveredSince.get(held.version);
      if (since === undefined) this.uncoveredSince.set(held.version, now);
      else if (now - since >= SILENCE_REFRESH_MS) void this.takeOver(held);
    }
    this.armBoundary();
  }

  /**
   * Sends `held`, this process's own, which no silence covers any more, if its
   * outage is still open (at once, as the silence ends, so that its end can
   * never overtake it); forgets it once its deliveries have settled, so that a
   * process killed before then leaves it for the next one (or another
   * replica) to send.
   */
  private release(held: HeldAlert): void {
    this.held.delete(held.key);
    const event = this.current(held, true);
    if (event === null) {
      this.keep(() => this.store.forget(held.key, { version: held.version }), held.event);
      return;
    }
    // With a shared store, claimed for the time its delivery may take, so that no other replica steps in.
    if (this.shared) this.keep(async () => void (await this.store.take(held, this.clock.wallNow())), held.event);
    this.send(held, event);
  }

  /** Sends `held`, which another replica held and did not send, if this one claims it and its outage is still open. */
  private async takeOver(held: HeldAlert): Promise<void> {
    this.releasing.add(held.version);
    try {
      const claim = await this.store.take(held, this.clock.wallNow());
      this.others = this.others.filter((other) => other.version !== held.version);
      this.uncoveredSince.delete(held.version);
      const event = claim === 'send' ? this.current(held, false) : null;
      if (event !== null) this.send(held, event);
    } catch {
      // Redis is away: the next read tries again.
    } finally {
      this.releasing.delete(held.version);
    }
  }

  private send(held: HeldAlert, event: AuditAlertEvent): void {
    this.noteSent(`${held.key}\u0000${eventKeyOf(event)}`);
    this.logger.log(silenceReleased(describeEvent(event)));
    this.sending.set(event, () => this.keep(() => this.store.forget(held.key, { version: held.version }), event));
    this.releases.next(event);
  }

  /**
   * A held alert as it would read now: an unreachable alert takes the
   * outage's current failures, probe failures, error and duration; `null` when
   * its outage has ended in the meantime (without a recovery to announce). The
   * alert of another replica, whose outage Redis has found still open, goes
   * out as it was held, its duration brought up to date.
   */
  private current({ event, heldAt }: HeldAlert, own: boolean): AuditAlertEvent | null {
    if (event.type !== AuditAlertEvents.StorageUnreachable && event.type !== AuditAlertEvents.StorageDegraded) {
      return event;
    }
    const status = this.statusOf(event.monitor);
    const same = status.state !== 'healthy' && status.firstFailureAt?.getTime() === event.firstFailureAt.getTime();
    if (!same && own) return null;
    if (event.type === AuditAlertEvents.StorageDegraded) return event;
    const unreachableDurationMs = Math.round(event.unreachableDurationMs + (this.clock.wallNow() - heldAt));
    if (!same) return { ...event, unreachableDurationMs };
    return {
      ...event,
      consecutiveFailures: status.consecutiveFailures,
      probeFailures: status.probeFailures,
      lastError: status.lastError ?? event.lastError,
      unreachableDurationMs,
    };
  }

  /** Arms the timer of the next silence to begin or end. */
  private armBoundary(): void {
    if (this.boundaryTimer !== null) this.clock.clearTimer(this.boundaryTimer);
    this.boundaryTimer = null;
    if (this.closed || this.silences.length === 0) return;
    const now = this.clock.wallNow();
    const next = Math.min(
      ...this.silences.flatMap((s) => [s.startsAt.getTime(), s.endsAt.getTime()]).filter((at) => at > now),
    );
    this.boundaryTimer = this.clock.setTimer(
      () => {
        this.boundaryTimer = null;
        // On time, whatever the store: then read it, for the ends to record and the other replicas' changes.
        this.apply(this.silences);
        void this.refresh();
      },
      Math.max(0, next - now),
    );
  }

  private armRefresh(): void {
    if (!this.shared || this.closed) return;
    this.refreshTimer = this.clock.setTimer(() => {
      this.refreshTimer = null;
      void this.refresh().finally(() => this.armRefresh());
    }, SILENCE_REFRESH_MS);
  }

  /** Reads the store again; if it cannot be read, the silences last read stay in force, each until its end. */
  private async refresh(): Promise<void> {
    try {
      this.absorb(await this.store.read(this.clock.wallNow()));
      this.refreshFailing = false;
    } catch (error) {
      if (!this.refreshFailing) this.logger.warn(silenceRefreshFailed(errorText(error)));
      this.refreshFailing = true;
      this.apply(this.silences);
    }
  }

  private record(
    kind: 'silence-created' | 'silence-ended',
    silence: KeptSilence | AuditAlertSilence,
    ended?: 'expired' | 'removed',
  ): void {
    this.ledger?.append({
      kind,
      silenceId: silence.id,
      createdBy: silence.createdBy,
      reason: silence.reason,
      monitors: silence.monitors,
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
      ...(ended === undefined ? {} : { held: 'held' in silence ? silence.held : 0, ended }),
    });
  }
}

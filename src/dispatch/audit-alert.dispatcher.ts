import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AUDIT_ALERT_CLOCK } from '../audit-alert.constants.js';
import { listenerThrew, shutdownTimedOut } from '../audit-alert.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { frozenEvent } from '../events/frozen-event.util.js';
import { MAX_TIMER_MS } from '../options/option-readers.util.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import { errorText } from '../common/error-text.util.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';

/** Decides, as each event is about to be sent, whether it goes now or is held. */
export interface AuditAlertDispatchGate {
  /** `true`: send `event` now; `false`: the gate keeps it, and hands it to `release()` later or drops it. */
  admit(event: AuditAlertEvent): boolean;
}

/**
 * Carries events from the monitors to EventEmitter2 and keeps count of the
 * deliveries in flight, so shutdown can wait for them.
 *
 * Emitting is always deferred to a later turn of the event loop: whatever
 * listens (hooks, channels, the application's own `@OnEvent` methods, even
 * synchronous ones) runs after `recordFailure()` has returned, and nothing it
 * throws can reach the audit write path.
 */
@Injectable()
export class AuditAlertDispatcher {
  /** The application's EventEmitter2 when EventEmitterModule is imported, else a private one. */
  readonly emitter: EventEmitter2;

  /** Called before each emit: the hook explorer subscribes there the hooks of modules loaded lazily since. */
  beforeEmit: (() => void) | null = null;

  private readonly logger = new AuditAlertLogger();
  private readonly inFlight = new Set<Promise<unknown>>();
  private queue: { readonly event: AuditAlertEvent; readonly sent: () => void }[] | null = [];
  /** The deliveries listeners start while an event is being emitted, so its sender can wait for them. */
  private started: Promise<unknown>[] | null = null;
  private gate: AuditAlertDispatchGate | null = null;

  constructor(
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly metrics: AuditAlertMetrics,
    @Optional() emitter?: EventEmitter2,
  ) {
    this.emitter = emitter ?? new EventEmitter2();
  }

  /**
   * Sends `event` to every listener, or queues it until {@link open} is
   * called; the gate, if any, may hold it instead.
   * @returns A promise, never rejected, settled once every delivery the event
   * started (hooks and channels) has settled: delivered, failed, given up or
   * abandoned; at once for an event the gate holds, which is then the gate's to send.
   */
  dispatch(event: AuditAlertEvent): Promise<void> {
    if (this.queue) {
      const queue = this.queue;
      return new Promise((resolve) => queue.push({ event, sent: resolve }));
    }
    if (this.gate && !this.gate.admit(event)) return Promise.resolve();
    return this.send(event);
  }

  /** Sends an event the gate held, now that it lets it go. */
  release(event: AuditAlertEvent): void {
    if (this.queue) this.queue.push({ event, sent: () => undefined });
    else void this.send(event);
  }

  /** Installs what every event is checked against before it is sent: the silences. */
  setGate(gate: AuditAlertDispatchGate): void {
    this.gate = gate;
  }

  private send(event: AuditAlertEvent): Promise<void> {
    // Counted here, past the queue, so an event raised during start-up counts once, when it is sent.
    this.metrics.alertSent(event);
    const emitted = new Promise<Promise<unknown>[]>((resolve) =>
      setImmediate(() => {
        const started: Promise<unknown>[] = [];
        this.started = started;
        try {
          this.beforeEmit?.();
          // Frozen: the application's @OnEvent listeners share this copy, and no one else's.
          this.emitter.emit(event.type, frozenEvent(event));
        } catch (error) {
          // A synchronous listener of the application's own threw.
          this.logger.error(listenerThrew(event.type, errorText(error)));
        } finally {
          this.started = null;
        }
        resolve(started);
      }),
    );
    this.track(emitted);
    // The deliveries are in flight on their own: waiting for them here is for the sender alone.
    return emitted.then((started) => Promise.allSettled(started)).then(() => undefined);
  }

  /** Starts emitting, beginning with the events raised before the listeners were ready. */
  open(): void {
    const queued = this.queue ?? [];
    this.queue = null;
    for (const { event, sent } of queued) void this.dispatch(event).then(sent);
  }

  /** Counts `delivery` as in flight until it settles; it must never reject. */
  track(delivery: Promise<unknown>): void {
    const settle = (): void => void this.inFlight.delete(delivery);
    this.inFlight.add(delivery);
    this.started?.push(delivery);
    delivery.then(settle, settle);
  }

  /** Waits for every delivery in flight, including ones they start, for at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    // The module's timers never keep the process alive; during shutdown, something must: a standalone
    // application context (a worker, a CLI) would otherwise exit in the middle of close() while a
    // delivery waits to retry. Cleared as soon as the drain ends, on time or not.
    const keepAlive = setInterval(() => undefined, MAX_TIMER_MS);
    let timer: unknown;
    const expired = new Promise<'expired'>((resolve) => {
      timer = this.clock.setTimer(() => resolve('expired'), timeoutMs);
    });
    try {
      while (this.inFlight.size > 0) {
        const outcome = await Promise.race([Promise.allSettled([...this.inFlight]), expired]);
        if (outcome === 'expired') {
          this.logger.warn(shutdownTimedOut(this.inFlight.size, timeoutMs));
          return;
        }
      }
    } finally {
      this.clock.clearTimer(timer);
      clearInterval(keepAlive);
    }
  }
}

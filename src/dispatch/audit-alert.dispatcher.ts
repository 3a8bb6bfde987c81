import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Observable } from 'rxjs';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_GATE,
  AUDIT_ALERT_LEDGER,
  AUDIT_ALERT_RECIPIENTS,
  AUDIT_ALERT_RESOLVED_OPTIONS,
} from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  alertDelivered,
  describeEvent,
  hookFailed,
  listenerThrew,
  shutdownTimedOut,
  testAbandonedAtShutdown,
} from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { eventOccurrenceOf } from '../events/audit-alert-event-kinds.js';
import { frozenEvent } from '../events/frozen-event.util.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import { ledgerBootRecord, ledgerEventRecord } from '../ledger/ledger-records.util.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import { PACKAGE_VERSION } from '../package-manifest.js';
import { MAX_TIMER_MS } from '../options/option-readers.util.js';
import {
  type ApplicationEmitter,
  type ApplicationEmitterReadiness,
  findApplicationEmitter,
  findApplicationEmitterReadiness,
} from './application-emitter.util.js';
import { AuditAlertInvoker } from './audit-alert.invoker.js';
import type { AuditAlertDeliveryReceipt } from './delivery-receipt.interface.js';
import type { RecipientBinding, RecipientSource } from './recipient-binding.interface.js';

/** Decides, as each event is about to be sent, whether it goes now or is held. */
export interface AuditAlertDispatchGate {
  /** `true`: send `event` now; `false`: the gate keeps it, and later lets it go through {@link released} or drops it. */
  admit(event: AuditAlertEvent): boolean;
  /** The events the gate held and now lets go: the dispatcher sends each. */
  readonly released: Observable<AuditAlertEvent>;
  /** Told once every delivery of a released event has settled, so that the gate may forget what it kept of it. */
  sent?(event: AuditAlertEvent): void;
}

/** An event raised before the listeners were ready, and who waits for its receipts. */
interface QueuedEvent {
  readonly event: AuditAlertEvent;
  readonly recipients: readonly RecipientBinding[] | null;
  readonly sent: (receipts: readonly AuditAlertDeliveryReceipt[]) => void;
}

/**
 * Carries events from the monitors to their recipients (hooks and channels,
 * through the invoker) and, when the application imports EventEmitterModule,
 * to its EventEmitter2 (the application's `@OnEvent` listeners), and gives
 * back one receipt per delivery. Owns its lifecycle:
 * events raised during start-up wait until the listeners are ready; shutdown
 * waits for the deliveries in flight, up to `shutdownTimeoutMs`.
 *
 * Sending is always deferred to a later turn of the event loop: whatever
 * listens, even synchronously, runs after `recordFailure()` has returned, and
 * nothing it throws can reach the audit write path.
 */
@Injectable()
export class AuditAlertDispatcher implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  /** The application's EventEmitter2 when it imports EventEmitterModule; `null` when it does not. */
  private emitter: ApplicationEmitter | null = null;
  private readiness: ApplicationEmitterReadiness | null = null;

  private readonly logger = new AuditAlertLogger();
  private readonly inFlight = new Set<Promise<unknown>>();
  private queue: QueuedEvent[] | null = [];
  /** Test alerts being delivered, answered with `abandoned` receipts if shutdown stops waiting for them. */
  private readonly tests = new Set<() => void>();

  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly metrics: AuditAlertMetrics,
    private readonly invoker: AuditAlertInvoker,
    @Inject(AUDIT_ALERT_RECIPIENTS) private readonly sources: readonly RecipientSource[],
    @Inject(AUDIT_ALERT_GATE) private readonly gate: AuditAlertDispatchGate | null,
    private readonly modules: ModulesContainer,
    @Inject(AUDIT_ALERT_LEDGER) private readonly ledger: AuditLedgerWriter | null,
  ) {
    gate?.released.subscribe((event) => void this.send(event, null).then(() => gate.sent?.(event)));
  }

  /**
   * Sends `event` to every recipient that asks for it and to the emitter, or
   * queues it until the application has started; the gate may hold it instead.
   * @returns A promise, never rejected, settled once every delivery the event
   * started has settled, with their receipts; at once, with none, for an event
   * the gate holds, which is then the gate's to send.
   */
  dispatch(event: AuditAlertEvent): Promise<readonly AuditAlertDeliveryReceipt[]> {
    if (this.queue === null && this.gate && !this.gate.admit(event)) return this.held(event);
    return this.send(event, null);
  }

  /**
   * Sends `event` as {@link dispatch} does, but past the gate: a response to an
   * outage (an acknowledgement) is no alert, and no silence holds it.
   * @returns A promise, never rejected, settled with the receipts once every delivery has settled.
   */
  announce(event: AuditAlertEvent): Promise<readonly AuditAlertDeliveryReceipt[]> {
    return this.send(event, null);
  }

  /**
   * Sends a test alert to `recipients` only (and to the emitter), never held by the gate.
   * @returns One receipt per recipient, once each has settled or shutdown has stopped waiting.
   */
  sendTest(
    event: AuditAlertEvent,
    recipients: readonly RecipientBinding[],
  ): Promise<readonly AuditAlertDeliveryReceipt[]> {
    return new Promise((resolve) => {
      const startedAt = new Date(this.clock.wallNow());
      const abandon = (): void =>
        resolve(
          recipients.map((binding) =>
            this.settled({
              recipient: binding.name,
              channel: binding.channel ?? null,
              event,
              result: 'abandoned',
              attempts: 0,
              reason: testAbandonedAtShutdown(this.options.shutdownTimeoutMs),
              startedAt,
              settledAt: new Date(this.clock.wallNow()),
              errorType: null,
            }),
          ),
        );
      this.tests.add(abandon);
      void this.send(event, recipients).then((receipts) => {
        this.tests.delete(abandon);
        resolve(receipts);
      });
    });
  }

  /** The recipients of the application, as their sources know them now. */
  recipients(): RecipientBinding[] {
    return this.sources.flatMap((source) => source.recipients());
  }

  /** Counts `delivery` (one that is no event's, such as a resolve of what an earlier process left open) as in flight until it settles; it must never reject. */
  track(delivery: Promise<unknown>): void {
    const settle = (): void => void this.inFlight.delete(delivery);
    this.inFlight.add(delivery);
    delivery.then(settle, settle);
  }

  /** Finds the application's EventEmitter2, if it has one. */
  onModuleInit(): void {
    this.emitter = findApplicationEmitter(this.modules);
    this.readiness = findApplicationEmitterReadiness(this.modules);
  }

  /**
   * Records the configuration in the ledger, then starts sending, beginning
   * with the events raised before every listener, `@OnEvent` ones included,
   * was in place.
   */
  onApplicationBootstrap(): void {
    this.ledger?.append(ledgerBootRecord(PACKAGE_VERSION, this.options, this.recipients()));
    // Not awaited: EventEmitterModule becomes ready in its own bootstrap hook, which may run after this one.
    const open = (): void => this.open();
    if (this.readiness) this.readiness.waitUntilReady().then(open, open);
    else open();
  }

  /** Waits for the deliveries in flight, including those they start, for at most `shutdownTimeoutMs`. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain(this.options.shutdownTimeoutMs);
    // A test still queued (sent before the application started) or still being delivered gets its answer now.
    for (const abandon of this.tests) abandon();
    this.tests.clear();
  }

  private open(): void {
    const queued = this.queue ?? [];
    this.queue = null;
    for (const { event, recipients, sent } of queued) {
      const admitted = recipients !== null || !this.gate || this.gate.admit(event);
      void (admitted ? this.send(event, recipients) : this.held(event)).then(sent);
    }
  }

  /** Sends to `recipients`, or to every recipient that asks for `event` when `null`. */
  private send(
    event: AuditAlertEvent,
    recipients: readonly RecipientBinding[] | null,
  ): Promise<readonly AuditAlertDeliveryReceipt[]> {
    if (this.queue !== null) {
      const queue = this.queue;
      return new Promise((sent) => queue.push({ event, recipients, sent }));
    }
    // Counted and recorded here, past the queue, so an event raised during start-up counts once, when it is sent.
    this.metrics.alertSent(event);
    this.ledger?.append(ledgerEventRecord(event, false));
    const sent = new Promise<readonly AuditAlertDeliveryReceipt[]>((resolve) =>
      setImmediate(() => {
        const deliveries = (recipients ?? this.recipients().filter((binding) => wants(binding, event))).map((binding) =>
          this.invoker.deliver(binding, event).then((receipt) => this.settled(receipt)),
        );
        try {
          // Frozen: the application's @OnEvent listeners share this copy, and no one else's.
          this.emitter?.emit(event.type, frozenEvent(event));
        } catch (error) {
          // A synchronous listener of the application's own threw.
          this.logger.error(listenerThrew(event.type, errorText(error)));
        }
        resolve(Promise.all(deliveries));
      }),
    );
    this.track(sent);
    return sent;
  }

  /** An event the gate keeps: recorded as held; it has no receipts. */
  private held(event: AuditAlertEvent): Promise<readonly AuditAlertDeliveryReceipt[]> {
    this.ledger?.append(ledgerEventRecord(event, true));
    return Promise.resolve([]);
  }

  /** Where every receipt goes: the ledger, the application's logs and the metrics. */
  private settled(receipt: AuditAlertDeliveryReceipt): AuditAlertDeliveryReceipt {
    const { recipient, event, result, attempts, reason } = receipt;
    this.ledger?.append({
      kind: 'receipt',
      recipient,
      channel: receipt.channel,
      type: event.type,
      monitor: event.monitor,
      outageId: 'outageId' in event ? event.outageId : null,
      occurrence: eventOccurrenceOf(event),
      result,
      attempts,
      reason,
      startedAt: receipt.startedAt.toISOString(),
      settledAt: receipt.settledAt.toISOString(),
    });
    try {
      if (result === 'delivered') {
        // Evidence that the alert went out, in the application's own logs.
        this.logger.log(alertDelivered(recipient, describeEvent(event), attempts));
      } else {
        if (result === 'failed') this.logger.error(hookFailed(recipient, event.type, reason ?? ''));
        else this.logger.warn(reason ?? '');
        this.metrics.deliveryFailed(recipient, event, receipt.errorType ?? '_OTHER');
      }
    } catch {
      // A logger that throws must not lose the receipt.
    }
    return receipt;
  }

  private async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    // The module's timers never keep the process alive; during shutdown, something must: a standalone
    // application context (a worker, a CLI) would otherwise exit in the middle of close() while a
    // delivery waits to retry. Cleared as soon as the drain ends, on time or not.
    const keepAlive = setInterval(() => undefined, MAX_TIMER_MS);
    const drained = (async () => {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    })();
    try {
      await withTimeout(
        drained,
        timeoutMs,
        this.clock,
        () => new Error(shutdownTimedOut(this.inFlight.size, timeoutMs)),
      );
    } catch (error) {
      this.logger.warn((error as Error).message);
    } finally {
      clearInterval(keepAlive);
    }
  }
}

/** Whether `binding` subscribes to `event`: its types, its monitors, its own filter (a channel's `fromOccurrence`). */
function wants(binding: RecipientBinding, event: AuditAlertEvent): boolean {
  return (
    binding.events.includes(event.type) &&
    (binding.monitors === null || binding.monitors.has(event.monitor)) &&
    (binding.accepts === undefined || binding.accepts(event))
  );
}

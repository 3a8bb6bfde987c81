import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS, AuditAlertEvents } from '../audit-alert.constants.js';
import {
  alertDelivered,
  describeEvent,
  hookFailed,
  hookTimedOut,
  testAbandonedAtShutdown,
} from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import { ChannelDeliveryError } from '../channels/http-delivery.js';
import { isAlertTestEvent } from '../events/audit-alert-event.guards.js';
import type { AlertTestEvent, AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { TestAlertRun } from '../test-alert/test-alert.run.js';
import { AuditAlertMetrics, errorTypeOf, TIMEOUT_ERROR_TYPE } from '../metrics/audit-alert.metrics.js';
import { errorText } from '../monitor/error-text.util.js';
import type { HookBinding } from './hook-binding.interface.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';

/** What EventEmitter2 returns for `on(..., { objectify: true })`. */
interface Subscription {
  off(): unknown;
}

/**
 * Subscribes hooks (found by the explorer, or built-in channels) to the
 * dispatcher's emitter and calls them in isolation: bounded by `hookTimeoutMs`,
 * their failures logged and counted, never seen by the audit write path or by
 * other hooks.
 */
@Injectable()
export class AuditAlertHookInvoker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new AuditAlertLogger();
  private readonly listeners: Subscription[] = [];
  private readonly bindings: HookBinding[] = [];
  /** Test alerts on their way, by `testId`. */
  private readonly tests = new Map<string, TestAlertRun>();

  constructor(
    private readonly dispatcher: AuditAlertDispatcher,
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly metrics: AuditAlertMetrics,
    @Optional() private readonly readiness?: EventEmitterReadinessWatcher,
  ) {}

  /** Releases the events queued during start-up once every listener, `@OnEvent` ones included, is in place. */
  onApplicationBootstrap(): void {
    if (!this.readiness) {
      this.dispatcher.open();
      return;
    }
    // Not awaited: EventEmitterModule becomes ready in its own bootstrap hook, which may run after this one.
    const open = (): void => this.dispatcher.open();
    this.readiness.waitUntilReady().then(open, open);
  }

  /** Waits for deliveries in flight, then removes this module's listeners and no others. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.drain(this.options.shutdownTimeoutMs);
    for (const listener of this.listeners.splice(0)) listener.off();
    // A test still queued (sent before the application started) or still being delivered gets its answer now.
    for (const run of this.tests.values()) run.abandon(testAbandonedAtShutdown(this.options.shutdownTimeoutMs));
  }

  /**
   * Sends a test alert, through `send`, to the recipients `select` keeps among
   * those that subscribe to it (every channel does), and resolves to one
   * result per recipient once each has delivered, failed or been abandoned.
   * @param routed Whether recipients routed to other monitors are left out.
   */
  async sendTest(
    event: AlertTestEvent,
    routed: boolean,
    select: (binding: HookBinding) => boolean,
    send: (event: AlertTestEvent) => void,
  ): Promise<AuditTestAlertResult[]> {
    const recipients = this.bindings.filter(
      (binding) =>
        binding.events.includes(AuditAlertEvents.Test) &&
        (!routed || !binding.monitors || binding.monitors.has(event.monitor)) &&
        select(binding),
    );
    const run = new TestAlertRun(new Set(recipients));
    this.tests.set(event.testId, run);
    try {
      send(event);
      return await run.done;
    } finally {
      this.tests.delete(event.testId);
    }
  }

  /**
   * Subscribes a hook to the event types it asked for. Prepended, because
   * EventEmitter2 stops at the first listener that throws: an application
   * listener must not be able to keep an alert from the hooks.
   */
  subscribe(binding: HookBinding): void {
    this.bindings.push(binding);
    const { emitter } = this.dispatcher;
    for (const type of binding.events) {
      // One listener per hook and type: a hundred hooks are not a leak worth a warning.
      const limit = emitter.getMaxListeners();
      if (limit > 0 && emitter.listeners(type).length >= limit) emitter.setMaxListeners(limit + 1);
      const listener = emitter.prependListener(
        type,
        (event: AuditAlertEvent) => {
          // A test sent by sendTestAlert() goes to the recipients chosen for it, and to them only.
          const test = isAlertTestEvent(event) ? this.tests.get(event.testId) : undefined;
          if (test) {
            if (test.recipients.has(binding)) this.deliver(binding, event, test);
            return;
          }
          if (binding.monitors && !binding.monitors.has(event.monitor)) return;
          if (binding.accepts && !binding.accepts(event)) return;
          this.deliver(binding, event);
        },
        { objectify: true },
      ) as unknown as Subscription;
      this.listeners.push(listener);
    }
  }

  /** Calls one hook with one event; resolves when it is done, failed or abandoned, and never rejects. */
  private deliver(binding: HookBinding, event: AuditAlertEvent, test?: TestAlertRun): void {
    // Async, so that an invoke() throwing synchronously rejects instead.
    const call = (async () => binding.invoke(event))();
    const timeoutMs = binding.timeoutMs === undefined ? this.options.hookTimeoutMs : binding.timeoutMs;
    let timer: unknown;
    const expired =
      timeoutMs === null
        ? null
        : new Promise<string>((resolve) => {
            timer = this.clock.setTimer(() => resolve(hookTimedOut(binding.name, event.type, timeoutMs)), timeoutMs);
          });
    const delivery = (async () => {
      try {
        const outcome = await (expired ? Promise.race([call, expired]) : call);
        if (typeof outcome === 'string') {
          test?.report(binding, { delivered: false, attempts: 1, error: outcome });
          this.logger.warn(outcome);
          this.metrics.deliveryFailed(binding.name, event, TIMEOUT_ERROR_TYPE);
        } else {
          test?.report(binding, { delivered: true, attempts: outcome });
          // Evidence that the alert went out, in the application's own logs.
          this.logger.log(alertDelivered(binding.name, describeEvent(event), outcome));
        }
      } catch (error) {
        const text = errorText(error);
        test?.report(binding, { delivered: false, attempts: attemptsOf(error), error: text });
        this.logger.error(hookFailed(binding.name, event.type, text));
        this.metrics.deliveryFailed(binding.name, event, errorTypeOf(error));
      } finally {
        if (expired) this.clock.clearTimer(timer);
      }
    })().catch(() => undefined); // a logger that throws must not turn into an unhandled rejection
    this.dispatcher.track(delivery);
  }
}

/** Attempts a failed delivery made: what a channel's error says, else one. */
function attemptsOf(error: unknown): number {
  return error instanceof ChannelDeliveryError ? error.attempts : 1;
}

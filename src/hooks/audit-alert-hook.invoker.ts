import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import { alertDelivered, describeEvent, hookFailed, hookTimedOut } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
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
  }

  /**
   * Subscribes a hook to the event types it asked for. Prepended, because
   * EventEmitter2 stops at the first listener that throws: an application
   * listener must not be able to keep an alert from the hooks.
   */
  subscribe(binding: HookBinding): void {
    const { emitter } = this.dispatcher;
    for (const type of binding.events) {
      // One listener per hook and type: a hundred hooks are not a leak worth a warning.
      const limit = emitter.getMaxListeners();
      if (limit > 0 && emitter.listeners(type).length >= limit) emitter.setMaxListeners(limit + 1);
      const listener = emitter.prependListener(
        type,
        (event: AuditAlertEvent) => {
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
  private deliver(binding: HookBinding, event: AuditAlertEvent): void {
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
          this.logger.warn(outcome);
          this.metrics.deliveryFailed(binding.name, event, TIMEOUT_ERROR_TYPE);
        } else {
          // Evidence that the alert went out, in the application's own logs.
          this.logger.log(alertDelivered(binding.name, describeEvent(event), outcome));
        }
      } catch (error) {
        this.logger.error(hookFailed(binding.name, event.type, errorText(error)));
        this.metrics.deliveryFailed(binding.name, event, errorTypeOf(error));
      } finally {
        if (expired) this.clock.clearTimer(timer);
      }
    })().catch(() => undefined); // a logger that throws must not turn into an unhandled rejection
    this.dispatcher.track(delivery);
  }
}

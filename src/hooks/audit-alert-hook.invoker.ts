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
  hookBlocked,
  hookFailed,
  hookTimedOut,
  testAbandonedAtShutdown,
} from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
import { isAlertTestEvent } from '../events/audit-alert-event.guards.js';
import type { AlertTestEvent, AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { frozenEvent } from '../events/frozen-event.util.js';
import type { AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { TestAlertRun } from '../test-alert/test-alert.run.js';
import { AuditAlertMetrics, errorTypeOf, TIMEOUT_ERROR_TYPE } from '../metrics/audit-alert.metrics.js';
import { errorText } from '../common/error-text.util.js';
import type { HookBinding, HookTimer } from './hook-binding.interface.js';
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
  /** Time spent in the synchronous part of every hook call so far, on the module's monotonic clock. */
  private blockedMs = 0;

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

  /**
   * Calls one hook with an event of its own; resolves when it is done, failed
   * or abandoned, and never rejects. Time the event loop spent blocked in other
   * hooks' synchronous code while this one ran is given back to it (its
   * deadline moves on by as much), and its deadline is checked a turn of the
   * event loop after the timer fires, so an answer that was already there is
   * not missed: a hook is never blamed for another's blocking. The one that
   * blocks is: a hook whose synchronous part alone outlasts its deadline counts
   * as timed out.
   */
  private deliver(binding: HookBinding, shared: AuditAlertEvent, test?: TestAlertRun): void {
    const event = frozenEvent(shared);
    let blockedMs = 0;
    const timed: HookTimer = (run) => {
      const started = this.clock.monotonicNow();
      try {
        return run();
      } finally {
        const spent = this.clock.monotonicNow() - started;
        blockedMs += spent;
        this.blockedMs += spent;
      }
    };
    // Async, so that an invoke() throwing synchronously rejects instead.
    const call = (async () => binding.invoke(event, timed))();
    const timeoutMs = binding.timeoutMs === undefined ? this.options.hookTimeoutMs : binding.timeoutMs;
    let timer: unknown;
    const expired =
      timeoutMs === null
        ? null
        : new Promise<string>((resolve) => {
            const arm = (delayMs: number, blockedByOthers: number): void => {
              timer = this.clock.setTimer(() => {
                setImmediate(() => {
                  const byOthersNow = this.blockedMs - blockedMs;
                  const lost = byOthersNow - blockedByOthers;
                  if (lost >= 1) arm(lost, byOthersNow);
                  else resolve(hookTimedOut(binding.name, event.type, timeoutMs));
                });
              }, delayMs);
            };
            arm(timeoutMs, this.blockedMs - blockedMs);
          });
    const delivery = (async () => {
      try {
        const outcome = await (expired ? Promise.race([call, expired]) : call);
        if (typeof outcome === 'string') {
          test?.report(binding, { delivered: false, attempts: 1, error: outcome });
          this.logger.warn(outcome);
          this.metrics.deliveryFailed(binding.name, event, TIMEOUT_ERROR_TYPE);
        } else if (timeoutMs !== null && blockedMs >= timeoutMs) {
          const blocked = hookBlocked(binding.name, event.type, Math.round(blockedMs), timeoutMs);
          test?.report(binding, { delivered: false, attempts: outcome, error: blocked });
          this.logger.warn(blocked);
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
  return error instanceof AuditAlertChannelError ? error.attempts : 1;
}

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleInit,
  Optional,
  type Type,
} from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import { AuditAlertConfigError } from '../audit-alert-config.error.js';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_EVENT_TYPES,
  AUDIT_ALERT_HOOK_METADATA,
  AUDIT_ALERT_LOGGER_CONTEXT,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  type AuditAlertEventType,
} from '../audit-alert.constants.js';
import {
  hookFailed,
  hookTimedOut,
  hookWithoutMethod,
  injectedUnknownMonitor,
  invalidOption,
} from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { AuditAlertMetrics, errorTypeOf, TIMEOUT_ERROR_TYPE } from '../metrics/audit-alert.metrics.js';
import { errorText } from '../monitor/error-text.util.js';
import { monitorNameOfToken } from '../monitor/inject-audit-monitor.decorator.js';
import type { AuditAlertHookOptions } from './audit-alert-hook-options.interface.js';
import type { OnAuditAlert } from './on-audit-alert.interface.js';

/** A hook as the explorer calls it: static hooks resolve to one instance, others to a fresh one per alert. */
export interface HookBinding {
  readonly name: string;
  readonly events: readonly AuditAlertEventType[];
  /** `null`: every monitor. */
  readonly monitors: ReadonlySet<string> | null;
  /**
   * How long a call may run before it is abandoned; `null` for a hook that
   * bounds itself (the built-in channels time out each attempt and stop at
   * shutdown, and their retries may rightly outlast `hookTimeoutMs`).
   * @default options.hookTimeoutMs
   */
  readonly timeoutMs?: number | null;
  instanceFor(event: AuditAlertEvent): OnAuditAlert | Promise<OnAuditAlert>;
}

/** What EventEmitter2 returns for `on(..., { objectify: true })`. */
interface Subscription {
  off(): unknown;
}

/**
 * Finds every `@AuditAlertHook()` provider, subscribes it to the dispatcher's
 * emitter, and calls it in isolation: bounded by `hookTimeoutMs`, its failures
 * logged, never seen by the audit write path or by other hooks.
 */
@Injectable()
export class AuditAlertHookExplorer implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AUDIT_ALERT_LOGGER_CONTEXT);
  private readonly listeners: Subscription[] = [];
  private readonly monitorNames: readonly string[];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
    private readonly dispatcher: AuditAlertDispatcher,
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly metrics: AuditAlertMetrics,
    @Optional() private readonly readiness?: EventEmitterReadinessWatcher,
  ) {
    this.monitorNames = options.monitors.map((m) => m.name);
  }

  /** Finds and checks the hooks; a hook without `onAuditAlert` stops the bootstrap here. */
  onModuleInit(): void {
    this.assertInjectedMonitorsExist();
    for (const binding of this.discoverHooks()) this.subscribe(binding);
  }

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
          if (!binding.monitors || binding.monitors.has(event.monitor)) this.deliver(binding, event);
        },
        { objectify: true },
      ) as unknown as Subscription;
      this.listeners.push(listener);
    }
  }

  /** `@InjectAuditMonitor(name)` of a monitor that does not exist stops the bootstrap, naming the class. */
  private assertInjectedMonitorsExist(): void {
    const known = this.monitorNames;
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const dependencies = [
        ...(wrapper.getCtorMetadata() ?? []),
        ...(wrapper.getPropertiesMetadata() ?? []).map((p) => p.wrapper),
      ];
      for (const dependency of dependencies) {
        const name = monitorNameOfToken(dependency?.token);
        if (name !== null && !known.includes(name)) {
          throw new AuditAlertConfigError(injectedUnknownMonitor(String(wrapper.name), name, known), 'monitors');
        }
      }
    }
  }

  private discoverHooks(): HookBinding[] {
    const seen = new Set<unknown>();
    const bindings: HookBinding[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias) continue;
      const target = hookClassOf(wrapper);
      const options = target && (Reflect.getMetadata(AUDIT_ALERT_HOOK_METADATA, target) as AuditAlertHookOptions);
      if (!target || !options) continue;
      if (typeof target.prototype?.onAuditAlert !== 'function') {
        throw new AuditAlertConfigError(hookWithoutMethod(target.name), `${target.name}.onAuditAlert`);
      }
      const filters = {
        name: target.name,
        events: hookEvents(target.name, options),
        monitors: this.hookMonitors(target.name, options),
      };
      if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) {
        const instance = wrapper.instance as OnAuditAlert;
        if (seen.has(instance)) continue;
        seen.add(instance);
        bindings.push({ ...filters, instanceFor: () => instance });
      } else {
        bindings.push({ ...filters, instanceFor: (event) => this.resolvePerAlert(wrapper, event) });
      }
    }
    return bindings;
  }

  private hookMonitors(className: string, { monitors }: AuditAlertHookOptions): ReadonlySet<string> | null {
    if (monitors === undefined) return null;
    const known = this.monitorNames;
    if (!Array.isArray(monitors) || !monitors.every((name) => known.includes(name))) {
      const path = `@AuditAlertHook(${className}).monitors`;
      throw new AuditAlertConfigError(
        invalidOption(path, monitors, `an array of monitor names: ${known.join(', ')}`),
        path,
      );
    }
    return new Set(monitors);
  }

  /** A request-scoped or transient hook gets a fresh instance, with the event as its "request". */
  private resolvePerAlert(wrapper: InstanceWrapper, event: AuditAlertEvent): Promise<OnAuditAlert> {
    const contextId = ContextIdFactory.create();
    this.moduleRef.registerRequestByContextId(event, contextId);
    const hostRef = wrapper.host?.getProviderByKey<ModuleRef>(ModuleRef)?.instance;
    return hostRef
      ? hostRef.resolve<OnAuditAlert>(wrapper.token, contextId)
      : this.moduleRef.resolve<OnAuditAlert>(wrapper.token, contextId, { strict: false });
  }

  /** Calls one hook with one event; resolves when it is done, failed or abandoned, and never rejects. */
  private deliver(binding: HookBinding, event: AuditAlertEvent): void {
    const call = (async () => {
      const hook = await binding.instanceFor(event);
      await hook.onAuditAlert(event);
    })();
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
        const abandoned = await (expired ? Promise.race([call, expired]) : call);
        if (abandoned) {
          this.logger.warn(abandoned);
          this.metrics.deliveryFailed(binding.name, event, TIMEOUT_ERROR_TYPE);
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

function hookClassOf(wrapper: InstanceWrapper): Type<unknown> | undefined {
  // Factory and value providers have no class of their own: look at what they produced.
  const fromInstance = (wrapper.instance as object | null | undefined)?.constructor as Type<unknown> | undefined;
  return wrapper.metatype && !wrapper.inject ? (wrapper.metatype as Type<unknown>) : fromInstance;
}

function hookEvents(className: string, options: AuditAlertHookOptions): readonly AuditAlertEventType[] {
  const { events = AUDIT_ALERT_EVENT_TYPES } = options;
  const valid =
    Array.isArray(events) && events.every((type) => AUDIT_ALERT_EVENT_TYPES.includes(type as AuditAlertEventType));
  if (!valid) {
    const path = `@AuditAlertHook(${className}).events`;
    throw new AuditAlertConfigError(
      invalidOption(path, events, `an array of ${AUDIT_ALERT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}`),
      path,
    );
  }
  return [...new Set(events)];
}

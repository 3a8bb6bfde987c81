import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, ModuleRef, ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import {
  AUDIT_ALERT_EVENT_TYPES,
  AUDIT_ALERT_HOOK_METADATA,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  type AuditAlertEventType,
} from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { hookWithoutMethod, injectedUnknownMonitor, invalidOption, lazyHooksFound } from '../audit-alert.messages.js';
import { errorText } from '../common/error-text.util.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { monitorNameOfToken } from '../monitor/inject-audit-monitor.decorator.js';
import type { AuditAlertHookOptions } from './audit-alert-hook-options.interface.js';
import type { RecipientBinding, RecipientSource, RecipientTimer } from '../dispatch/recipient-binding.interface.js';
import type { OnAuditAlert } from './on-audit-alert.interface.js';

/**
 * Finds every `@AuditAlertHook()` provider and checks its options: the
 * dispatcher's source of hooks. Also checks that every
 * `@InjectAuditMonitor(name)` names a monitor that exists.
 */
@Injectable()
export class AuditAlertHookExplorer implements OnModuleInit, RecipientSource {
  private readonly monitorNames: readonly string[];
  private readonly logger = new AuditAlertLogger();
  /** Providers already looked at, and hook instances already subscribed. */
  private readonly examined = new Set<unknown>();
  private modulesExamined = 0;
  private readonly hooks: RecipientBinding[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly modules: ModulesContainer,
    private readonly moduleRef: ModuleRef,
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) options: ResolvedAuditAlertOptions,
  ) {
    this.monitorNames = options.monitors.map((m) => m.name);
  }

  /** Finds and checks the hooks; a hook without `onAuditAlert` stops the bootstrap here. */
  onModuleInit(): void {
    this.assertInjectedMonitorsExist();
    this.hooks.push(...this.discoverHooks());
  }

  /** The hooks found so far; modules loaded since by LazyModuleLoader are looked at first, so their hooks get this event. */
  recipients(): readonly RecipientBinding[] {
    this.discoverLazyHooks();
    return this.hooks;
  }

  /** Subscribes the hooks of modules loaded since the last look; cheap when none was. */
  private discoverLazyHooks(): void {
    if (this.modules.size === this.modulesExamined) return;
    try {
      const bindings = this.discoverHooks();
      this.hooks.push(...bindings);
      if (bindings.length > 0) this.logger.log(lazyHooksFound(bindings.map((b) => b.name)));
    } catch (error) {
      // Bootstrap is over: a faulty hook of a lazy module is reported, and the others keep their alerts.
      this.logger.error(errorText(error));
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

  private discoverHooks(): RecipientBinding[] {
    this.modulesExamined = this.modules.size;
    const seen = this.examined;
    const bindings: RecipientBinding[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias || seen.has(wrapper)) continue;
      seen.add(wrapper);
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
        bindings.push({ ...filters, invoke: (event, timed) => callHook(instance, event, timed) });
      } else {
        bindings.push({
          ...filters,
          invoke: async (event, timed) => callHook(await this.resolvePerAlert(wrapper, event), event, timed),
        });
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
}

/** Calls a hook; a hook is one attempt, however long it takes. */
async function callHook(hook: OnAuditAlert, event: AuditAlertEvent, timed: RecipientTimer): Promise<number> {
  await timed(() => hook.onAuditAlert(event));
  return 1;
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

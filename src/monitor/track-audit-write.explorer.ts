import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AUDIT_ALERT_RESOLVED_OPTIONS, TRACK_AUDIT_WRITE_METADATA } from '../audit-alert.constants.js';
import { trackedClassInTwoApps, trackedUnknownMonitor } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import { AuditMonitorRegistry } from './audit-monitor.registry.js';
import { type TrackedWriteLink, trackedWriteLinks } from './track-audit-write.decorator.js';

/**
 * Links every provider and controller with `@TrackAuditWrite()` methods to this
 * application's monitors: each instance (each class, for request-scoped and
 * transient providers, whose instances are made later) reports to the registry
 * of the module that created it. Checks the monitor names at bootstrap and
 * removes its links at shutdown, so the next application in the process starts clean.
 */
@Injectable()
export class TrackAuditWriteExplorer implements OnModuleInit, OnModuleDestroy {
  private readonly link: TrackedWriteLink;
  private readonly linkedInstances: object[] = [];
  private readonly linkedClasses: object[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: AuditMonitorRegistry,
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
  ) {
    this.link = { monitor: (name) => registry.get(name ?? options.defaultMonitor) };
  }

  /** Links the decorated instances; an unknown monitor name stops the bootstrap, naming the method. */
  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      if (wrapper.isAlias) continue;
      const target = classOf(wrapper);
      if (!target?.prototype || !this.checkTrackedMethods(target)) continue;
      if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) {
        const instance = wrapper.instance as object | null | undefined;
        if (instance && !trackedWriteLinks.instances.has(instance)) {
          trackedWriteLinks.instances.set(instance, this.link);
          this.linkedInstances.push(instance);
        }
      } else {
        const current = trackedWriteLinks.classes.get(target);
        if (current !== undefined && current !== this.link) {
          throw new AuditAlertConfigError(trackedClassInTwoApps(target.name), '@TrackAuditWrite');
        }
        trackedWriteLinks.classes.set(target, this.link);
        this.linkedClasses.push(target);
      }
    }
  }

  /** Removes this application's links. */
  onModuleDestroy(): void {
    for (const instance of this.linkedInstances) trackedWriteLinks.instances.delete(instance);
    for (const target of this.linkedClasses) {
      if (trackedWriteLinks.classes.get(target) === this.link) trackedWriteLinks.classes.delete(target);
    }
    this.linkedInstances.length = 0;
    this.linkedClasses.length = 0;
  }

  /** Whether `target` has decorated methods; each must name a monitor that exists. */
  private checkTrackedMethods(target: { name: string; prototype: object }): boolean {
    let tracked = false;
    for (const method of this.scanner.getAllMethodNames(target.prototype)) {
      const fn = (target.prototype as Record<string, unknown>)[method];
      if (typeof fn !== 'function' || !Reflect.hasOwnMetadata(TRACK_AUDIT_WRITE_METADATA, fn)) continue;
      tracked = true;
      const name = Reflect.getOwnMetadata(TRACK_AUDIT_WRITE_METADATA, fn) as string | null;
      if (name !== null && !this.registry.has(name)) {
        const known = this.options.monitors.map((m) => m.name);
        const member = `${target.name}.${method}`;
        throw new AuditAlertConfigError(trackedUnknownMonitor(member, name, known), `@TrackAuditWrite(${member})`);
      }
    }
    return tracked;
  }
}

function classOf(wrapper: InstanceWrapper): { name: string; prototype: object } | undefined {
  // Factory and value providers have no class of their own: look at what they produced.
  if (wrapper.metatype && !wrapper.inject) return wrapper.metatype as { name: string; prototype: object };
  return (wrapper.instance as object | null | undefined)?.constructor;
}

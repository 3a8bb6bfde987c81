import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AUDIT_STORAGE_REQUIREMENT } from '../audit-alert.constants.js';
import { guardedUnknownMonitor, guardFromOtherBuild } from '../audit-alert.messages.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import type { AuditStorageRequirement } from './require-audit-storage-options.interface.js';
import { AuditStorageGuard } from './audit-storage.guard.js';

/**
 * Stops the bootstrap when a controller or handler requires a monitor that
 * does not exist, rather than failing its first request.
 * @internal
 */
@Injectable()
export class AuditStorageRequirementsCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly monitors: AuditMonitorRegistry,
  ) {}

  onModuleInit(): void {
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as object;
      this.check(metatype.name, metatype);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[method];
        if (typeof handler === 'function') this.check(`${metatype.name}.${method}()`, handler);
      }
    }
  }

  private check(route: string, target: object): void {
    const requirement = this.reflector.get<AuditStorageRequirement | undefined>(
      AUDIT_STORAGE_REQUIREMENT,
      target as () => void,
    );
    if (requirement === undefined) return;
    // The metadata key is a string both builds share; the guard class is not. (`__guards__`: what @UseGuards() sets.)
    const guards = (Reflect.getMetadata('__guards__', target) as unknown[] | undefined) ?? [];
    if (
      guards.some((guard) => guard !== AuditStorageGuard && (guard as { name?: unknown })?.name === 'AuditStorageGuard')
    ) {
      throw new AuditAlertConfigError(guardFromOtherBuild(route), '@RequireAuditStorage()');
    }
    const name = requirement.monitor;
    if (name == null || this.monitors.has(name)) return;
    const known = this.monitors.list().map((m) => m.name);
    throw new AuditAlertConfigError(guardedUnknownMonitor(route, name, known), '@RequireAuditStorage().monitor');
  }
}

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AUDIT_STORAGE_REQUIREMENT } from '../audit-alert.constants.js';
import { guardedUnknownMonitor } from '../audit-alert.messages.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import type { AuditStorageRequirement } from './require-audit-storage-options.interface.js';

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
    const name = requirement?.monitor;
    if (name == null || this.monitors.has(name)) return;
    const known = this.monitors.list().map((m) => m.name);
    throw new AuditAlertConfigError(guardedUnknownMonitor(route, name, known), '@RequireAuditStorage().monitor');
  }
}

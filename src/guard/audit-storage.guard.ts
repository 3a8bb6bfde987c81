import { type CanActivate, type ExecutionContext, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUDIT_STORAGE_REQUIREMENT } from '../audit-alert.constants.js';
import { auditStorageUnavailable } from '../audit-alert.messages.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import { AuditStorageMonitor } from '../monitor/audit-storage.monitor.js';
import type { AuditStorageRequirement } from './require-audit-storage-options.interface.js';

/** Sets a header on an Express or Fastify response (or anything with either method). */
function setHeader(response: unknown, name: string, value: string): void {
  const target = response as { setHeader?: (n: string, v: string) => void; header?: (n: string, v: string) => void };
  if (typeof target?.setHeader === 'function') target.setHeader(name, value);
  else if (typeof target?.header === 'function') target.header(name, value);
}

/**
 * Refuses a request while the audit storage its handler needs is down. It acts
 * only on handlers and controllers marked with `@RequireAuditStorage()`, so it
 * may also be registered globally (`{ provide: APP_GUARD, useClass: AuditStorageGuard }`)
 * without touching the other routes. Over HTTP the refusal is a `503` with
 * `Retry-After`; elsewhere (RPC, WebSockets) the same exception reaches the
 * transport's exception handling.
 */
@Injectable()
export class AuditStorageGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly monitors: AuditMonitorRegistry,
    private readonly defaultMonitor: AuditStorageMonitor,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const requirement = this.reflector.getAllAndOverride<AuditStorageRequirement | undefined>(
      AUDIT_STORAGE_REQUIREMENT,
      [context.getHandler(), context.getClass()],
    );
    if (!requirement) return true;
    const monitor = requirement.monitor === null ? this.defaultMonitor : this.monitors.get(requirement.monitor);
    const { state } = monitor.getStatus();
    if (state === 'healthy' || !requirement.blockWhen.has(state)) return true;
    // The records are kept elsewhere meanwhile: AU-5(4) asks for no shutdown then.
    if (requirement.allowWhileSpooling && monitor.spool?.healthy) return true;
    if (context.getType() === 'http') {
      setHeader(context.switchToHttp().getResponse(), 'Retry-After', String(requirement.retryAfterSeconds));
    }
    throw new ServiceUnavailableException({
      statusCode: 503,
      error: 'Service Unavailable',
      message: auditStorageUnavailable,
      reason: 'audit-storage-unavailable',
    });
  }
}

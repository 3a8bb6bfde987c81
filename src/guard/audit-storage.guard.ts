import { type CanActivate, type ExecutionContext, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { AUDIT_ALERT_CLOCK, AUDIT_STORAGE_REQUIREMENT } from '../audit-alert.constants.js';
import { auditStorageUnavailable, guardFromOtherBuild } from '../audit-alert.messages.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import { AuditStorageMonitor } from '../monitor/audit-storage.monitor.js';
import { AuditStorageTrialGate, type EndAuditStorageTrial } from './audit-storage-trial.gate.js';
import { isTrial, letThroughAsTrial } from './audit-storage-trial.interceptor.js';
import type { AuditStorageRequirement } from './require-audit-storage-options.interface.js';

/**
 * One gate per monitor, whichever instance of the guard asks: Nest makes one
 * per module that uses it, and one more when it is registered globally.
 */
const gates = new WeakMap<AuditStorageMonitor, AuditStorageTrialGate>();

/** Sets a header on an Express or Fastify response (or anything with either method). */
function setHeader(response: unknown, name: string, value: string): void {
  const target = response as { setHeader?: (n: string, v: string) => void; header?: (n: string, v: string) => void };
  if (typeof target?.setHeader === 'function') target.setHeader(name, value);
  else if (typeof target?.header === 'function') target.header(name, value);
}

/** Whether the route refuses its requests while its monitor is in `state`. */
function blocks(requirement: AuditStorageRequirement, monitor: AuditStorageMonitor, state: AuditStorageState): boolean {
  if (state === 'healthy' || !requirement.blockWhen.has(state)) return false;
  // The records are kept elsewhere meanwhile, every one of them: AU-5(4) asks for no shutdown then.
  // A spool that is merely configured is not enough: one write of the outage that failed without
  // its record reaching the spool (no record given, recordFailure(), the spool full) shuts the route.
  return !(requirement.allowWhileSpooling && monitor.keepingRecords);
}

function refuse(context: ExecutionContext, requirement: AuditStorageRequirement): never {
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

/**
 * Refuses a request while the audit storage its handler needs is down. It acts
 * only on handlers and controllers marked with `@RequireAuditStorage()`, so it
 * may also be registered globally (`{ provide: APP_GUARD, useClass: AuditStorageGuard }`)
 * without touching the other routes. Over HTTP the refusal is a `503` with
 * `Retry-After`; elsewhere (RPC, WebSockets) the same exception reaches the
 * transport's exception handling.
 *
 * So that refusing cannot keep the outage from ending, once `Retry-After` has
 * passed one refused request is checked again: the monitor's probe runs, if it
 * has one, and when the route is still shut the request goes through as a
 * trial whose own write tells the monitor (see {@link AuditStorageTrialGate}).
 */
@Injectable()
export class AuditStorageGuard implements CanActivate {
  /** Found at the first request (see {@link resolved}), not injected: see `dependencies()`. */
  private found: { readonly monitors: AuditMonitorRegistry; readonly defaultMonitor: AuditStorageMonitor } | null =
    null;

  /**
   * Only `@nestjs/core`'s own classes are injected, which both builds of this
   * package share: a guard of the CommonJS build in an application whose
   * module comes from the ESM build (or the other way round) must not stop
   * the bootstrap with a dependency error that does not say why.
   */
  constructor(
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  private get monitors(): AuditMonitorRegistry {
    return this.resolved().monitors;
  }

  private get defaultMonitor(): AuditStorageMonitor {
    return this.resolved().defaultMonitor;
  }

  private resolved(): { readonly monitors: AuditMonitorRegistry; readonly defaultMonitor: AuditStorageMonitor } {
    if (this.found !== null) return this.found;
    try {
      this.found = {
        monitors: this.moduleRef.get(AuditMonitorRegistry, { strict: false }),
        defaultMonitor: this.moduleRef.get(AuditStorageMonitor, { strict: false }),
      };
    } catch (error) {
      // The module is registered (its string metadata is there), but its classes are not these ones.
      void error;
      throw new AuditAlertConfigError(guardFromOtherBuild('A route'), '@RequireAuditStorage()');
    }
    return this.found;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<AuditStorageRequirement | undefined>(
      AUDIT_STORAGE_REQUIREMENT,
      [context.getHandler(), context.getClass()],
    );
    if (!requirement) return true;
    const monitor = requirement.monitor === null ? this.defaultMonitor : this.monitors.get(requirement.monitor);
    const { state, outageId } = monitor.getStatus();
    if (!blocks(requirement, monitor, state) || isTrial(context)) return true;
    const end = this.gateOf(monitor).admit(outageId, requirement.retryAfterSeconds * 1_000, requirement.trialTimeoutMs);
    if (end === null) refuse(context, requirement);
    if (monitor.hasProbe) return this.probeFirst(context, requirement, monitor, end);
    letThroughAsTrial(context, end);
    return true;
  }

  /**
   * Asks the storage itself, which risks no request. A probe that fails does
   * not keep the request out: writes outrank probes, and a probe can fail where
   * the writes would not (another table, grant or host), so the trial still runs.
   */
  private async probeFirst(
    context: ExecutionContext,
    requirement: AuditStorageRequirement,
    monitor: AuditStorageMonitor,
    end: EndAuditStorageTrial,
  ): Promise<boolean> {
    await monitor.probeNow();
    if (blocks(requirement, monitor, monitor.getStatus().state)) letThroughAsTrial(context, end);
    else end();
    return true;
  }

  private gateOf(monitor: AuditStorageMonitor): AuditStorageTrialGate {
    let gate = gates.get(monitor);
    if (gate === undefined) {
      // The module does not export its clock, and the guard lives in the application's modules.
      gate = new AuditStorageTrialGate(this.moduleRef.get<AuditAlertClock>(AUDIT_ALERT_CLOCK, { strict: false }));
      gates.set(monitor, gate);
    }
    return gate;
  }
}

import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { healthCheckWithoutProbe, invalidOption, unknownMonitor, unknownOption } from '../audit-alert.messages.js';
import type { AuditStorageState, AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';

/** How {@link AuditStorageHealthIndicator.isHealthy} reads the monitors. */
export interface AuditStorageHealthCheckOptions {
  /**
   * Report only the monitor of this name.
   * @default undefined (every monitor: down when any is down)
   */
  monitor?: string;
  /**
   * Report a monitor that is `failing` (an outage below its threshold, not
   * alerted on yet) as down. A monitor that is `alerting` is always down.
   * @default false
   */
  failingIsDown?: boolean;
}

/** What the health check shows of one monitor. */
export interface AuditStorageHealthDetails {
  /** `up` or `down`, as this monitor alone would be reported. */
  readonly status: 'up' | 'down';
  readonly state: AuditStorageState;
  readonly outageId: string | null;
  /** ISO 8601 wall-clock time of the outage's first failure. */
  readonly firstFailureAt: string | null;
  readonly consecutiveFailures: number;
  /** Text of the last failure: credentials scrubbed, at most 1,024 characters. */
  readonly lastError: string | null;
  /** ISO 8601 wall-clock time of the last alert sent for this outage. */
  readonly lastAlertAt: string | null;
}

const OPTION_KEYS = ['monitor', 'failingIsDown'];

/**
 * A `@nestjs/terminus` health indicator for the audit storage monitors. List it
 * in `providers` of a module that imports `TerminusModule`:
 *
 * ```ts
 * @Get()
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.auditStorage.isHealthy('audit_storage')]);
 * }
 * ```
 */
@Injectable()
export class AuditStorageHealthIndicator implements OnApplicationBootstrap {
  private readonly logger = new AuditAlertLogger();

  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly registry: AuditMonitorRegistry,
  ) {}

  /** @internal Warns about monitors without a probe: as a readiness check, they could not recover without traffic. */
  onApplicationBootstrap(): void {
    const withoutProbe = this.registry
      .list()
      .filter((m) => !m.hasProbe)
      .map((m) => m.name);
    if (withoutProbe.length > 0) this.logger.warn(healthCheckWithoutProbe(withoutProbe));
  }

  /**
   * Reports one monitor (`options.monitor`) or every monitor under `key`: down
   * while alerting (and while failing, with `failingIsDown`), up otherwise,
   * with each monitor's figures. With every monitor, the figures are under
   * `monitors`, by name.
   *
   * A monitor in an outage that has a probe is probed first (within the probe's
   * `timeoutMs`), so the check reports the storage as it is now rather than as
   * the last write found it: a pod kept out of traffic by this check becomes
   * ready again once the storage answers, without needing a write.
   * @throws AuditAlertConfigError when `options` is invalid or no monitor has the name given.
   */
  async isHealthy<const Key extends string>(
    key: Key,
    options: AuditStorageHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { monitor, failingIsDown } = readOptions(options);
    const indicator = this.healthIndicatorService.check(key);
    if (monitor !== undefined && !this.registry.has(monitor)) {
      const names = this.registry.list().map((m) => m.name);
      throw new AuditAlertConfigError(unknownMonitor(monitor, names), 'monitor');
    }
    const reported = monitor === undefined ? this.registry.list() : [this.registry.get(monitor)];
    await Promise.all(reported.filter((m) => m.getStatus().state !== 'healthy').map((m) => m.probeNow()));
    if (monitor !== undefined) {
      const { status, ...figures } = detailsOf(this.registry.get(monitor).getStatus(), failingIsDown);
      return status === 'up' ? indicator.up({ monitor, ...figures }) : indicator.down({ monitor, ...figures });
    }
    const monitors: Record<string, AuditStorageHealthDetails> = {};
    for (const m of this.registry.list()) monitors[m.name] = detailsOf(m.getStatus(), failingIsDown);
    const down = Object.values(monitors).some((details) => details.status === 'down');
    return down ? indicator.down({ monitors }) : indicator.up({ monitors });
  }
}

function readOptions(options: unknown): { monitor: string | undefined; failingIsDown: boolean } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new AuditAlertConfigError(invalidOption('isHealthy(options)', options, 'an object'), 'options');
  }
  const { monitor, failingIsDown = false } = options as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new AuditAlertConfigError(unknownOption(`isHealthy(options).${key}`, OPTION_KEYS), key);
    }
  }
  if (monitor !== undefined && typeof monitor !== 'string') {
    throw new AuditAlertConfigError(invalidOption('isHealthy(options).monitor', monitor, 'a monitor name'), 'monitor');
  }
  if (typeof failingIsDown !== 'boolean') {
    throw new AuditAlertConfigError(
      invalidOption('isHealthy(options).failingIsDown', failingIsDown, 'true or false'),
      'failingIsDown',
    );
  }
  return { monitor, failingIsDown };
}

function detailsOf(status: AuditStorageStatus, failingIsDown: boolean): AuditStorageHealthDetails {
  // Down while an alert stands and the writes still fail; `recovering` (writes succeed, the hold runs) is up.
  const down =
    status.state === 'alerting' || status.state === 'degraded' || (failingIsDown && status.state === 'failing');
  return {
    status: down ? 'down' : 'up',
    state: status.state,
    outageId: status.outageId,
    firstFailureAt: status.firstFailureAt?.toISOString() ?? null,
    consecutiveFailures: status.consecutiveFailures,
    lastError: status.lastError,
    lastAlertAt: status.lastAlertAt?.toISOString() ?? null,
  };
}

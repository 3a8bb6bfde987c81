import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplicationContext, Module, type OnModuleInit, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { metrics } from '@opentelemetry/api';
import {
  type CollectionResult,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditMonitorRegistry,
  type OnAuditAlert,
} from '../../src/index.js';
import { AuditAlertMetrics } from '../../src/metrics/audit-alert.metrics.js';
import { flush, ManualClock } from '../support/manual-clock.js';

/** Collects only when asked: every figure below is read at a moment the test chooses. */
class ManualMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

@AuditAlertHook()
class BrokenPagerHook implements OnAuditAlert {
  onAuditAlert(): void {
    throw new TypeError('pager unreachable');
  }
}

@AuditAlertHook({ events: ['audit.storage.unreachable'] })
class HangingHook implements OnAuditAlert {
  onAuditAlert(): Promise<void> {
    return new Promise(() => undefined);
  }
}

@AuditAlertHook()
class WorkingHook implements OnAuditAlert {
  onAuditAlert(): void {}
}

const BY = 'dba-oncall@example.com';
const SERVICE = 'billing-api';
const MONITORS = [{ name: 'orders' }, { name: 'archive' }];

async function boot(
  clock: ManualClock,
  options: AuditAlertModuleOptions = {},
  extraProviders: Type<unknown>[] = [],
): Promise<INestApplicationContext> {
  @Module({
    imports: [
      AuditAlertModule.forRoot({
        serviceName: SERVICE,
        thresholdMs: 1_000,
        cooldownMs: 5_000,
        hookTimeoutMs: 2_000,
        monitors: MONITORS,
        ...options,
      }),
    ],
    providers: [BrokenPagerHook, WorkingHook, ...extraProviders],
  })
  class MetricsAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [MetricsAppModule] })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** One data point, flattened: its attributes and its value. */
interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: number;
}

/** The module's metrics of one collection, by instrument name. */
function auditAlertMetrics({ resourceMetrics }: CollectionResult): Map<string, MetricData> {
  const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === 'nestjs-audit-alert');
  return new Map((scope?.metrics ?? []).map((m) => [m.descriptor.name, m]));
}

function points(metric: MetricData | undefined): Point[] {
  if (!metric) return [];
  expect(metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE).toBe(true);
  return metric.dataPoints.map((p) => ({ attributes: { ...p.attributes }, value: p.value as number }));
}

const ofMonitor = (monitor: string) => ({
  'audit_alert.monitor.name': monitor,
  'audit_alert.service.name': SERVICE,
});

describe('OpenTelemetry metrics', () => {
  let reader: ManualMetricReader;
  let provider: MeterProvider;
  let clock: ManualClock;

  beforeEach(() => {
    reader = new ManualMetricReader();
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    clock = new ManualClock();
  });

  afterEach(async () => {
    metrics.disable();
    await provider.shutdown();
  });

  it('records the time from the first failure to the acknowledgement, in seconds, per monitor', async () => {
    const app = await boot(clock);
    const registry = app.get(AuditMonitorRegistry);
    const orders = registry.get('orders');
    orders.recordFailure(new Error('refused'));
    clock.advance(1_000);
    const outageId = orders.getStatus().outageId!;
    clock.advance(89_000);
    await registry.acknowledge(outageId, { by: 'ana' });
    const metric = auditAlertMetrics(await reader.collect()).get('audit_alert.outage.time_to_acknowledge');
    expect(metric?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(metric?.descriptor.unit).toBe('s');
    const [point, ...others] = metric!.dataPoints;
    expect(others).toEqual([]);
    expect(point!.attributes).toEqual(ofMonitor('orders'));
    expect(point!.value).toMatchObject({ count: 1, sum: 90 });
    await app.close();
  });

  it('counts outcomes, alerts and failed deliveries, and reports the state of every monitor', async () => {
    const app = await boot(clock, {}, [HangingHook]);
    const registry = app.get(AuditMonitorRegistry);
    const orders = registry.get('orders');
    const archive = registry.get('archive');

    for (let i = 0; i < 3; i += 1) orders.recordSuccess();
    archive.recordSuccess();
    orders.recordFailure(new Error('connect ECONNREFUSED'));
    orders.recordFailure(new Error('connect ECONNREFUSED'));
    archive.recordFailure(new Error('disk full'));
    clock.advance(1_000); // both alert from their threshold timers
    orders.recordFailure(new Error('connect ECONNREFUSED'));
    await flush();
    clock.advance(2_000); // the hanging hook is abandoned on both alerts
    await flush();

    const during = auditAlertMetrics(await reader.collect());
    expect(points(during.get('audit_alert.storage.failures'))).toEqual([
      { attributes: ofMonitor('orders'), value: 3 },
      { attributes: ofMonitor('archive'), value: 1 },
    ]);
    expect(points(during.get('audit_alert.storage.successes'))).toEqual([
      { attributes: ofMonitor('orders'), value: 3 },
      { attributes: ofMonitor('archive'), value: 1 },
    ]);
    expect(points(during.get('audit_alert.monitor.state'))).toEqual([
      { attributes: ofMonitor('orders'), value: 2 },
      { attributes: ofMonitor('archive'), value: 2 },
    ]);
    expect(points(during.get('audit_alert.sent.alerts'))).toEqual([
      { attributes: { ...ofMonitor('orders'), 'audit_alert.event.type': 'audit.storage.unreachable' }, value: 1 },
      { attributes: { ...ofMonitor('archive'), 'audit_alert.event.type': 'audit.storage.unreachable' }, value: 1 },
    ]);
    const unreachable = { 'audit_alert.event.type': 'audit.storage.unreachable' };
    expect(sortByJson(points(during.get('audit_alert.failed.deliveries')))).toEqual(
      sortByJson([
        {
          attributes: {
            ...ofMonitor('orders'),
            ...unreachable,
            'audit_alert.hook.name': 'BrokenPagerHook',
            'error.type': 'TypeError',
          },
          value: 1,
        },
        {
          attributes: {
            ...ofMonitor('archive'),
            ...unreachable,
            'audit_alert.hook.name': 'BrokenPagerHook',
            'error.type': 'TypeError',
          },
          value: 1,
        },
        {
          attributes: {
            ...ofMonitor('orders'),
            ...unreachable,
            'audit_alert.hook.name': 'HangingHook',
            'error.type': 'timeout',
          },
          value: 1,
        },
        {
          attributes: {
            ...ofMonitor('archive'),
            ...unreachable,
            'audit_alert.hook.name': 'HangingHook',
            'error.type': 'timeout',
          },
          value: 1,
        },
      ]),
    );

    orders.recordSuccess();
    await flush();
    const after = auditAlertMetrics(await reader.collect());
    expect(points(after.get('audit_alert.storage.successes'))).toEqual([
      { attributes: ofMonitor('orders'), value: 4 },
      { attributes: ofMonitor('archive'), value: 1 },
    ]);
    expect(points(after.get('audit_alert.monitor.state'))).toEqual([
      { attributes: ofMonitor('orders'), value: 0 },
      { attributes: ofMonitor('archive'), value: 2 },
    ]);
    expect(points(after.get('audit_alert.sent.alerts'))).toContainEqual({
      attributes: { ...ofMonitor('orders'), 'audit_alert.event.type': 'audit.storage.recovered' },
      value: 1,
    });
    expect(points(after.get('audit_alert.failed.deliveries'))).toContainEqual({
      attributes: {
        ...ofMonitor('orders'),
        'audit_alert.event.type': 'audit.storage.recovered',
        'audit_alert.hook.name': 'BrokenPagerHook',
        'error.type': 'TypeError',
      },
      value: 1,
    });
    await app.close();
  });

  it('reports the capacity ratio of the monitors that watch it, from their first reading on', async () => {
    let usage: number | { used: number; total: number } = 0.5;
    const app = await boot(clock, {
      monitors: [{ name: 'orders', capacity: { check: () => usage, intervalMs: 60_000 } }, { name: 'archive' }],
    });
    await flush();
    const ratios = async () =>
      points(auditAlertMetrics(await reader.collect()).get('audit_alert.storage.capacity.ratio'));
    expect(await ratios()).toEqual([{ attributes: ofMonitor('orders'), value: 0.5 }]);
    usage = { used: 9, total: 10 };
    clock.advance(60_000);
    await flush();
    expect(await ratios()).toEqual([{ attributes: ofMonitor('orders'), value: 0.9 }]);
    await app.close();
  });

  it('reports a monitor below its threshold as failing (1)', async () => {
    const app = await boot(clock);
    app.get(AuditMonitorRegistry).get('archive').recordFailure(new Error('disk full'));
    const collected = auditAlertMetrics(await reader.collect());
    expect(points(collected.get('audit_alert.monitor.state'))).toEqual([
      { attributes: ofMonitor('orders'), value: 0 },
      { attributes: ofMonitor('archive'), value: 1 },
    ]);
    expect(points(collected.get('audit_alert.sent.alerts'))).toEqual([]);
    await app.close();
  });

  it('counts the alerts a silence holds, apart from those sent, and test alerts as sent', async () => {
    const app = await boot(clock);
    const registry = app.get(AuditMonitorRegistry);
    await registry.silence({ monitors: ['orders'], durationMs: 60_000, reason: 'CHG-1: index rebuild', createdBy: BY });
    registry.get('orders').recordFailure(new Error('locked'));
    registry.get('archive').recordFailure(new Error('disk full'));
    clock.advance(1_000);
    await registry.sendTestAlert();
    await flush();
    const collected = auditAlertMetrics(await reader.collect());
    const typed = (monitor: string, type: string) => ({ ...ofMonitor(monitor), 'audit_alert.event.type': type });
    expect(points(collected.get('audit_alert.silenced.alerts'))).toEqual([
      { attributes: typed('orders', 'audit.storage.unreachable'), value: 1 },
    ]);
    expect(sortByJson(points(collected.get('audit_alert.sent.alerts')))).toEqual(
      sortByJson([
        { attributes: typed('archive', 'audit.storage.unreachable'), value: 1 },
        { attributes: typed('orders', 'audit.alert.test'), value: 1 },
      ]),
    );
    // Tracking goes on while silenced: the held monitor still reports alerting (2).
    expect(points(collected.get('audit_alert.monitor.state'))).toContainEqual({
      attributes: ofMonitor('orders'),
      value: 2,
    });
    await app.close();
  });

  it('names the meter and describes each instrument with its unit', async () => {
    const app = await boot(clock);
    app.get(AuditMonitorRegistry).get('orders').recordFailure(new Error('x'));
    clock.advance(1_000);
    await flush();
    const { resourceMetrics } = await reader.collect();
    const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === 'nestjs-audit-alert');
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    expect(scope?.scope.version).toBe(version);
    const units = Object.fromEntries(scope!.metrics.map((m) => [m.descriptor.name, m.descriptor.unit]));
    expect(units).toEqual({
      'audit_alert.storage.failures': '{failure}',
      'audit_alert.storage.successes': '{success}',
      'audit_alert.records.rejected': '{record}',
      'audit_alert.monitor.state': '{state}',
      'audit_alert.sent.alerts': '{alert}',
      'audit_alert.failed.deliveries': '{delivery}',
    });
    for (const metric of scope!.metrics) expect(metric.descriptor.description).not.toBe('');
    await app.close();
  });

  it('counts an alert raised during start-up once, when it is sent', async () => {
    @Injectable()
    class FailsAtStartup implements OnModuleInit {
      constructor(private readonly registry: AuditMonitorRegistry) {}
      onModuleInit(): void {
        this.registry.get('orders').recordFailure(new Error('connect ECONNREFUSED'));
      }
    }
    const app = await boot(clock, { thresholdMs: 0 }, [FailsAtStartup]);
    await flush();
    expect(points(auditAlertMetrics(await reader.collect()).get('audit_alert.sent.alerts'))).toEqual([
      { attributes: { ...ofMonitor('orders'), 'audit_alert.event.type': 'audit.storage.unreachable' }, value: 1 },
    ]);
    await app.close();
  });

  it('bounds error.type: class-like names only, nothing a scrubber would redact, at most 20 invented ones', async () => {
    let call = 0;
    const names = [
      'postgres://app:pw@db',
      'x'.repeat(50_000),
      'line\nbreak',
      'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
    ];
    @AuditAlertHook({ monitors: ['orders'] })
    class NameInventingHook implements OnAuditAlert {
      onAuditAlert(): void {
        const error = new Error('failed');
        error.name = names[call] ?? `Invented${call}`;
        call += 1;
        throw error;
      }
    }
    const app = await boot(clock, { thresholdMs: 0, notifyRecovery: false }, [NameInventingHook]);
    const orders = app.get(AuditMonitorRegistry).get('orders');
    for (let outage = 0; outage < 60; outage += 1) {
      orders.recordFailure(new Error('down'));
      orders.recordSuccess();
    }
    await flush();
    const failed = points(auditAlertMetrics(await reader.collect()).get('audit_alert.failed.deliveries')).filter(
      (p) => p.attributes['audit_alert.hook.name'] === 'NameInventingHook',
    );
    const types = failed.map((p) => p.attributes['error.type'] as string);
    expect(types).toContain('_OTHER');
    expect(types).toContain('Invented4');
    expect(types).not.toContain('Invented40');
    expect(types.some((type) => type.startsWith('ghp_'))).toBe(false);
    expect(types.every((type) => /^[A-Za-z_$][\w$]{0,63}$/.test(type))).toBe(true);
    expect(failed).toHaveLength(21); // 20 invented names, and _OTHER
    expect(failed.reduce((sum, p) => sum + p.value, 0)).toBe(60);
    await app.close();
  });

  it('stops reading the monitors once the application is closed', async () => {
    const app = await boot(clock);
    app.get(AuditMonitorRegistry).get('orders').recordSuccess();
    await app.close();
    const collected = auditAlertMetrics(await reader.collect());
    expect(points(collected.get('audit_alert.storage.successes'))).toEqual([]);
    expect(points(collected.get('audit_alert.monitor.state'))).toEqual([]);
  });

  it('records nothing with metrics: false', async () => {
    const app = await boot(clock, { metrics: false });
    expect(app.get(AuditAlertMetrics).enabled).toBe(false);
    const orders = app.get(AuditMonitorRegistry).get('orders');
    orders.recordSuccess();
    orders.recordFailure(new Error('x'));
    clock.advance(3_000);
    await flush();
    orders.recordSuccess();
    await flush();
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'nestjs-audit-alert')).toEqual([]);
    await app.close();
  });

  it('turns itself off when no MeterProvider is registered at bootstrap', async () => {
    metrics.disable();
    const app = await boot(clock);
    expect(app.get(AuditAlertMetrics).enabled).toBe(false);
    const orders = app.get(AuditMonitorRegistry).get('orders');
    orders.recordFailure(new Error('x'));
    clock.advance(1_000);
    await flush();
    expect(orders.getStatus().state).toBe('alerting');
    await app.close();
  });

  it('rejects a metrics option that is not a boolean', async () => {
    await expect(boot(clock, { metrics: 'yes' as unknown as boolean })).rejects.toThrow(
      'Invalid audit alert option "metrics": received \'yes\'; expected true or false.',
    );
  });
});

function sortByJson<T>(values: T[]): T[] {
  return [...values].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe('without @opentelemetry/api installed', () => {
  it('boots, monitors and alerts with metrics on by default', async () => {
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    await expect(stat(join(repoRoot, 'dist', 'index.js'))).resolves.toBeTruthy(); // built by `npm test` before jest runs
    const fixture = fileURLToPath(new URL('./fixtures/boot-without-otel.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', pathToFileURL(join(repoRoot, 'test/support/block-modules.mjs')).href, fixture],
      { env: { ...process.env, BLOCKED_MODULES: '@opentelemetry/api' }, timeout: 30_000 },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'metrics enabled: false',
      'events: audit.storage.unreachable, audit.storage.recovered',
      '@opentelemetry/api: ERR_MODULE_NOT_FOUND',
    ]);
  });
});

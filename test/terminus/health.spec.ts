import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  AuditMonitorRegistry,
  type AuditStorageMonitor,
} from '../../src/index.js';
import { AuditStorageHealthIndicator } from '../../src/terminus/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly auditStorage: AuditStorageHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  all() {
    return this.health.check([() => this.auditStorage.isHealthy('audit_storage')]);
  }

  @Get('strict')
  @HealthCheck()
  strict() {
    return this.health.check([() => this.auditStorage.isHealthy('audit_storage', { failingIsDown: true })]);
  }

  @Get('orders')
  @HealthCheck()
  orders() {
    return this.health.check([() => this.auditStorage.isHealthy('orders_audit', { monitor: 'orders' })]);
  }

  @Get('both')
  @HealthCheck()
  both() {
    return this.health.check([
      () => this.auditStorage.isHealthy('orders_audit', { monitor: 'orders' }),
      () => this.auditStorage.isHealthy('archive_audit', { monitor: 'archive' }),
    ]);
  }

  @Get('unknown')
  @HealthCheck()
  unknown() {
    return this.health.check([() => this.auditStorage.isHealthy('audit_storage', { monitor: 'payments' })]);
  }
}

@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    AuditAlertModule.forRoot({ thresholdMs: 1_000, monitors: [{ name: 'orders' }, { name: 'archive' }] }),
  ],
  controllers: [HealthController],
  providers: [AuditStorageHealthIndicator],
})
class HealthAppModule {}

const WALL_START = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('AuditStorageHealthIndicator behind a real Terminus endpoint', () => {
  let app: INestApplication;
  let clock: ManualClock;
  let baseUrl: string;
  let orders: AuditStorageMonitor;
  let archive: AuditStorageMonitor;

  async function get(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${baseUrl}${path}`);
    return { status: response.status, body: await response.json() };
  }

  beforeEach(async () => {
    clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({ imports: [HealthAppModule] })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
    const registry = app.get(AuditMonitorRegistry);
    orders = registry.get('orders');
    archive = registry.get('archive');
  });

  afterEach(async () => {
    await app.close();
  });

  it('answers 200 while healthy, 200 while failing, 503 while alerting and 200 again after the recovery', async () => {
    const healthy = await get('/health');
    expect(healthy.status).toBe(200);
    expect(healthy.body).toEqual({
      status: 'ok',
      info: {
        audit_storage: {
          status: 'up',
          monitors: {
            orders: {
              status: 'up',
              state: 'healthy',
              outageId: null,
              firstFailureAt: null,
              consecutiveFailures: 0,
              lastError: null,
              lastAlertAt: null,
            },
            archive: {
              status: 'up',
              state: 'healthy',
              outageId: null,
              firstFailureAt: null,
              consecutiveFailures: 0,
              lastError: null,
              lastAlertAt: null,
            },
          },
        },
      },
      error: {},
      details: healthy.body.info,
    });

    orders.recordFailure(new Error('connect ECONNREFUSED postgres://audit:s3cret@127.0.0.1:5432/audit'));
    clock.advance(400);
    orders.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const failing = await get('/health');
    expect(failing.status).toBe(200);
    const failingOrders = failing.body.info.audit_storage.monitors.orders;
    expect(failingOrders).toEqual({
      status: 'up',
      state: 'failing',
      outageId: orders.getStatus().outageId,
      firstFailureAt: new Date(WALL_START).toISOString(),
      consecutiveFailures: 2,
      lastError: 'Error: connect ECONNREFUSED 127.0.0.1:5432',
      lastAlertAt: null,
    });
    expect(failingOrders.outageId).toEqual(expect.any(String));
    expect(failing.body.info.audit_storage.monitors.archive.state).toBe('healthy');

    clock.advance(600);
    await flush();
    const alerting = await get('/health');
    expect(alerting.status).toBe(503);
    expect(alerting.body.status).toBe('error');
    expect(alerting.body.info).toEqual({});
    expect(alerting.body.error.audit_storage.status).toBe('down');
    expect(alerting.body.error.audit_storage.monitors.orders).toEqual({
      ...failingOrders,
      status: 'down',
      state: 'alerting',
      lastAlertAt: new Date(WALL_START + 1_000).toISOString(),
    });
    expect(alerting.body.error.audit_storage.monitors.archive).toMatchObject({ status: 'up', state: 'healthy' });

    orders.recordSuccess();
    await flush();
    const recovered = await get('/health');
    expect(recovered.status).toBe(200);
    expect(recovered.body.info.audit_storage.monitors.orders).toEqual(healthy.body.info.audit_storage.monitors.orders);
  });

  it('reports a failing monitor as down with failingIsDown', async () => {
    expect((await get('/health/strict')).status).toBe(200);
    archive.recordFailure(new Error('disk full'));
    const strict = await get('/health/strict');
    expect(strict.status).toBe(503);
    expect(strict.body.error.audit_storage.monitors.archive).toMatchObject({
      status: 'down',
      state: 'failing',
      consecutiveFailures: 1,
      lastError: 'Error: disk full',
    });
    expect(strict.body.error.audit_storage.monitors.orders).toMatchObject({ status: 'up', state: 'healthy' });
    expect((await get('/health')).status).toBe(200);
  });

  it('reports a degraded monitor as down, and one holding its recovery as up', async () => {
    for (let i = 0; i < 30; i += 1) {
      if (i % 2 === 0) archive.recordFailure(new Error('replica 2 refused'));
      else archive.recordSuccess();
      clock.advance(50);
    }
    const degraded = await get('/health');
    expect(degraded.status).toBe(503);
    expect(degraded.body.error.audit_storage.monitors.archive).toMatchObject({ status: 'down', state: 'degraded' });
    await app.close();

    clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        AuditAlertModule.forRoot({ thresholdMs: 1_000, recoveryHoldMs: 10_000, monitors: [{ name: 'orders' }] }),
      ],
      controllers: [HealthController],
      providers: [AuditStorageHealthIndicator],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const monitor = app.get(AuditMonitorRegistry).get('orders');
    monitor.recordFailure(new Error('down'));
    clock.advance(1_000);
    expect((await get('/health')).status).toBe(503);
    monitor.recordSuccess();
    const holding = await get('/health');
    expect(holding.status).toBe(200);
    expect(holding.body.info.audit_storage.monitors.orders).toMatchObject({ status: 'up', state: 'recovering' });
  });

  it('reports one monitor on its own, with its figures at the top of its key', async () => {
    archive.recordFailure(new Error('disk full'));
    clock.advance(1_000);
    await flush();

    const ordersOnly = await get('/health/orders');
    expect(ordersOnly.status).toBe(200);
    expect(ordersOnly.body.info).toEqual({
      orders_audit: {
        status: 'up',
        monitor: 'orders',
        state: 'healthy',
        outageId: null,
        firstFailureAt: null,
        consecutiveFailures: 0,
        lastError: null,
        lastAlertAt: null,
      },
    });

    const both = await get('/health/both');
    expect(both.status).toBe(503);
    expect(both.body.info).toEqual({ orders_audit: ordersOnly.body.info.orders_audit });
    expect(both.body.error).toEqual({
      archive_audit: {
        status: 'down',
        monitor: 'archive',
        state: 'alerting',
        outageId: archive.getStatus().outageId,
        firstFailureAt: new Date(WALL_START).toISOString(),
        consecutiveFailures: 1,
        lastError: 'Error: disk full',
        lastAlertAt: new Date(WALL_START + 1_000).toISOString(),
      },
    });
  });

  it('fails the check with an error naming the monitors when the name is unknown', async () => {
    expect((await get('/health/unknown')).status).toBe(500);
    const indicator = app.get(AuditStorageHealthIndicator);
    await expect(indicator.isHealthy('audit_storage', { monitor: 'payments' })).rejects.toThrow(
      'No audit monitor is named "payments"; the monitors are: orders, archive.',
    );
  });

  it('rejects invalid options, naming them', async () => {
    const indicator = app.get(AuditStorageHealthIndicator);
    await expect(indicator.isHealthy('a', { failingIsDown: 'yes' as unknown as boolean })).rejects.toThrow(
      'Invalid audit alert option "isHealthy(options).failingIsDown": received \'yes\'; expected true or false.',
    );
    await expect(indicator.isHealthy('a', { monitors: ['orders'] } as never)).rejects.toThrow(
      'Unknown audit alert option "isHealthy(options).monitors"; the options are: monitor, failingIsDown.',
    );
  });
});

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const srcRoot = join(repoRoot, 'src');
/**
 * Value imports and re-exports, and dynamic imports, with their specifier;
 * `import type` and `typeof import()` are erased by the compiler, so not matched.
 */
const VALUE_IMPORT =
  /^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*['"]([^'"]+)['"]|(?<!\btypeof\s+)\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

describe('the core package and @nestjs/terminus', () => {
  it('has no file outside src/terminus that refers to @nestjs/terminus', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(srcRoot)) {
      const path = relative(srcRoot, file).split(sep).join('/');
      if (path.startsWith('terminus/')) continue;
      const text = await readFile(file, 'utf8');
      if (text.includes('@nestjs/terminus')) offenders.push(path);
    }
    expect(offenders).toEqual([]);
  });

  it('has no value import of @opentelemetry/api anywhere but the lazy import in src/metrics', async () => {
    const found: string[] = [];
    for (const file of await sourceFiles(srcRoot)) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(VALUE_IMPORT)) {
        const specifier = match[1] ?? match[2] ?? match[3];
        const dynamic = match[2] !== undefined;
        if (specifier?.startsWith('@opentelemetry/')) {
          found.push(
            `${relative(srcRoot, file).split(sep).join('/')}: ${dynamic ? 'import()' : 'static'} ${specifier}`,
          );
        }
      }
    }
    expect(found).toEqual(['metrics/audit-alert.metrics.ts: import() @opentelemetry/api']);
  });

  it('loads the built entry point in a process where @nestjs/terminus and @opentelemetry/api cannot be resolved', async () => {
    const dist = join(repoRoot, 'dist');
    await expect(stat(join(dist, 'index.js'))).resolves.toBeTruthy(); // built by `npm test` before jest runs
    const script = `
      const core = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
      console.log('core:', typeof core.AuditAlertModule);
      try {
        await import(${JSON.stringify(pathToFileURL(join(dist, 'terminus', 'index.js')).href)});
        console.log('terminus: loaded');
      } catch (error) {
        console.log('terminus:', error.code);
      }
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(repoRoot, 'test/support/block-modules.mjs')).href,
        '--input-type=module',
        '-e',
        script,
      ],
      { env: { ...process.env, BLOCKED_MODULES: '@nestjs/terminus,@opentelemetry/api' }, timeout: 30_000 },
    );
    // The second line shows the block works: the subpath, which does need Terminus, fails to load.
    expect(stdout.trim().split('\n')).toEqual(['core: function', 'terminus: ERR_MODULE_NOT_FOUND']);
  });
});

/** A storage the probe asks: it answers, refuses, or hangs until released. */
class ProbedStorage {
  answering = true;
  hanging = false;
  checks = 0;

  async check(): Promise<void> {
    this.checks += 1;
    if (this.hanging) return new Promise<void>(() => undefined);
    if (!this.answering) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  }
}

describe('AuditStorageHealthIndicator as a readiness check', () => {
  let app: INestApplication;
  let clock: ManualClock;
  let baseUrl: string;
  let logger: CaptureLogger;

  async function start(storage: ProbedStorage | null): Promise<AuditStorageMonitor> {
    @Module({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        AuditAlertModule.forRoot({
          thresholdMs: 1_000,
          monitors: [
            storage
              ? { name: 'orders', probe: { check: () => storage.check(), intervalMs: 60_000, timeoutMs: 2_000 } }
              : { name: 'orders' },
            { name: 'archive', probe: { check: () => undefined } },
          ],
        }),
      ],
      controllers: [HealthController],
      providers: [AuditStorageHealthIndicator],
    })
    class ReadinessModule {}
    clock = new ManualClock();
    logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({ imports: [ReadinessModule] })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication({ logger });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
    return app.get(AuditMonitorRegistry).get('orders');
  }

  async function status(path = '/health/orders'): Promise<{ status: number; state: string }> {
    const response = await fetch(`${baseUrl}${path}`);
    const body = (await response.json()) as any;
    return { status: response.status, state: body.details.orders_audit.state };
  }

  /** An alerting outage with no write after it: what a pod that readiness took out of traffic sees. */
  async function alertWithoutTraffic(orders: AuditStorageMonitor): Promise<void> {
    orders.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    clock.advance(1_000);
    await flush();
    expect(orders.getStatus().state).toBe('alerting');
  }

  afterEach(async () => {
    await app.close();
  });

  it('probes the storage when asked during an outage, and is ready again once it answers, without a write', async () => {
    const storage = new ProbedStorage();
    const orders = await start(storage);
    await alertWithoutTraffic(orders);
    storage.answering = false;
    expect(await status()).toEqual({ status: 503, state: 'alerting' });
    expect(storage.checks).toBe(1);
    // The failed probe is counted as a probe, not as a lost write.
    expect(orders.getStatus()).toMatchObject({ consecutiveFailures: 1, probeFailures: 1 });

    storage.answering = true;
    expect(await status()).toEqual({ status: 200, state: 'healthy' });
    expect(storage.checks).toBe(2);
    // No scheduled probe ran: the manual clock never reached the probe's interval.
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not probe a healthy monitor', async () => {
    const storage = new ProbedStorage();
    await start(storage);
    expect(await status()).toEqual({ status: 200, state: 'healthy' });
    expect(storage.checks).toBe(0);
  });

  it('answers within the probe timeout when the storage hangs, and reports it down', async () => {
    const storage = new ProbedStorage();
    const orders = await start(storage);
    await alertWithoutTraffic(orders);
    storage.hanging = true;
    const answer = status();
    // The request is on its way through HTTP: wait (a few ms at a time) until it reaches the probe.
    while (storage.checks === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    clock.advance(2_000);
    expect(await answer).toEqual({ status: 503, state: 'alerting' });
    expect(orders.getStatus().lastProbeError).toBe('Error: Probe of monitor "orders" did not answer within 2000 ms');
  });

  it('runs one probe for checks that arrive together', async () => {
    const storage = new ProbedStorage();
    const orders = await start(storage);
    await alertWithoutTraffic(orders);
    // A check while the storage is still down: after it, no write fails, so a passing check can end the outage.
    storage.answering = false;
    expect(await status()).toEqual({ status: 503, state: 'alerting' });
    storage.answering = true;
    const answers = await Promise.all(['/health/orders', '/health/orders', '/health'].map((p) => fetch(baseUrl + p)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(storage.checks).toBe(2);
  });

  it('is not made ready by a passing probe while the writes keep failing', async () => {
    const storage = new ProbedStorage();
    const orders = await start(storage);
    await alertWithoutTraffic(orders);
    for (let i = 0; i < 3; i += 1) {
      // Say a SELECT 1 on a read-only standby: the probe passes, the writes do not.
      orders.recordFailure(new Error('cannot execute INSERT in a read-only transaction'));
      expect(await status()).toEqual({ status: 503, state: 'alerting' });
    }
    expect(storage.checks).toBe(3);
    // The writes stop (no traffic reaches an unready pod): the next check ends the outage.
    expect(await status()).toEqual({ status: 200, state: 'healthy' });
  });

  it('warns at bootstrap, naming the monitors, when a monitor has no probe, and stays down until a write', async () => {
    const orders = await start(null);
    expect(logger.of('warn')).toEqual([
      'AuditStorageHealthIndicator: monitor "orders" has no probe, so once alerting it stays down until a write succeeds. ' +
        'As a Kubernetes readiness check this deadlocks: no traffic reaches the pod, so no write ends the outage. ' +
        'Configure a probe (probe: { check }) or see docs/kubernetes.md of nestjs-audit-alert.',
    ]);
    await alertWithoutTraffic(orders);
    expect(await status()).toEqual({ status: 503, state: 'alerting' });
    orders.recordSuccess();
    expect(await status()).toEqual({ status: 200, state: 'healthy' });
  });
});

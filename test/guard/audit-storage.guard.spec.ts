import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Post, type Type } from '@nestjs/common';
import {
  AuditAlertConfigError,
  type AuditAlertModuleOptions,
  AuditMonitorRegistry,
  RequireAuditStorage,
} from '../../src/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../channels/support/http-receiver.js';
import { type GuardedApp, startGuardedApp, startRpcHandler } from './support/guarded-app.js';

const THRESHOLD_MS = 1_000;

@Controller('orders')
class OrdersController {
  @Post()
  @RequireAuditStorage()
  create(): { created: true } {
    return { created: true };
  }

  @Get()
  list(): string[] {
    return [];
  }
}

@Controller('archive')
@RequireAuditStorage({ monitor: 'archive', blockWhen: ['failing', 'alerting'], retryAfterSeconds: 5 })
class ArchiveController {
  @Post()
  store(): string {
    return 'stored';
  }
}

@Controller('reports')
class ReportsController {
  @Get()
  read(): string {
    return 'report';
  }
}

function start(
  controllers: Type<unknown>[],
  { globalGuard = false, options = {} }: { globalGuard?: boolean; options?: AuditAlertModuleOptions } = {},
): Promise<GuardedApp> {
  return startGuardedApp({
    options: { thresholdMs: THRESHOLD_MS, monitors: [{ name: 'default' }, { name: 'archive' }], ...options },
    controllers,
    globalGuard,
  });
}

describe('@RequireAuditStorage() over real HTTP (Express on 127.0.0.1)', () => {
  let running: GuardedApp | undefined;

  afterEach(async () => {
    await running?.app.close();
    running = undefined;
  });

  it('refuses a guarded route with 503 and Retry-After while its monitor alerts, and only then', async () => {
    running = await start([OrdersController, ReportsController]);
    const monitor = running.registry.get('default');
    const statuses = async () => [
      (await running!.request('POST', '/orders')).status,
      (await running!.request('GET', '/orders')).status,
      (await running!.request('GET', '/reports')).status,
    ];

    expect(await statuses()).toEqual([201, 200, 200]);
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'));
    expect(await statuses()).toEqual([201, 200, 200]); // failing, below the threshold
    running.clock.advance(THRESHOLD_MS);
    expect(monitor.getStatus().state).toBe('alerting');

    const refused = await running.request('POST', '/orders');
    expect(refused).toEqual({
      status: 503,
      retryAfter: '30',
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'This action is refused while its audit trail cannot be written; retry later.',
        reason: 'audit-storage-unavailable',
      },
    });
    expect(JSON.stringify(refused.body)).not.toMatch(/hunter2|10\.0\.0\.5|ECONNREFUSED|default/);
    expect(await statuses()).toEqual([503, 200, 200]);

    monitor.recordSuccess();
    expect(await statuses()).toEqual([201, 200, 200]);
  });

  it('guards a whole controller on a named monitor, from the first failure when told to', async () => {
    running = await start([OrdersController, ArchiveController]);
    const archive = running.registry.get('archive');
    expect((await running.request('POST', '/archive')).status).toBe(201);
    archive.recordFailure(new Error('disk full'));
    expect(await running.request('POST', '/archive')).toMatchObject({ status: 503, retryAfter: '5' });
    // The other monitor's routes do not care.
    expect((await running.request('POST', '/orders')).status).toBe(201);
    archive.recordSuccess();
    expect((await running.request('POST', '/archive')).status).toBe(201);
  });

  it('registered globally, acts only on the routes marked with the decorator', async () => {
    running = await start([OrdersController, ReportsController], { globalGuard: true });
    running.registry.get('default').recordFailure(new Error('down'));
    running.clock.advance(THRESHOLD_MS);
    expect((await running.request('POST', '/orders')).status).toBe(503);
    expect((await running.request('GET', '/orders')).status).toBe(200);
    expect((await running.request('GET', '/reports')).status).toBe(200);
  });

  it('lets guarded routes through while a healthy spool keeps the records, unless told not to', async () => {
    @Controller('ledger')
    class LedgerController {
      @Post()
      @RequireAuditStorage()
      post(): string {
        return 'kept';
      }

      @Post('strict')
      @RequireAuditStorage({ allowWhileSpooling: false })
      strict(): string {
        return 'strict';
      }
    }
    const directory = await mkdtemp(join(tmpdir(), 'audit-guard-spool-'));
    try {
      running = await start([LedgerController], {
        options: { spool: { directory, replay: () => undefined } },
      });
      const monitor = running.registry.get('default');
      await waitFor(() => monitor.spool!.healthy, 'the spool to open');
      // A failed write whose record the spool keeps.
      await expect(monitor.track(Promise.reject(new Error('down')), { record: { n: 1 } })).resolves.toBeUndefined();
      running.clock.advance(THRESHOLD_MS);
      expect(monitor.getStatus().state).toBe('alerting');
      expect((await running.request('POST', '/ledger')).status).toBe(201);
      expect((await running.request('POST', '/ledger/strict')).status).toBe(503);
      // A failure no record came with: the outage has lost one, the route shuts.
      monitor.recordFailure(new Error('down'));
      expect((await running.request('POST', '/ledger')).status).toBe(503);
    } finally {
      await running?.app.close();
      running = undefined;
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('stops the bootstrap when a route requires a monitor that does not exist', async () => {
    @Controller('ghost')
    class GhostController {
      @Post()
      @RequireAuditStorage({ monitor: 'ghost' })
      write(): void {}
    }
    await expect(start([GhostController])).rejects.toThrow(
      'GhostController.write() is marked @RequireAuditStorage({ monitor: "ghost" }), but the monitors are: default, archive.',
    );
  });

  it.each<[string, unknown, string]>([
    [
      'blockWhen',
      ['healthy'],
      `"@RequireAuditStorage().blockWhen": received [ 'healthy' ]; expected a non-empty array of 'failing', 'degraded', 'alerting', 'recovering'`,
    ],
    ['blockWhen', [], '"@RequireAuditStorage().blockWhen": received []'],
    ['monitor', 42, '"@RequireAuditStorage().monitor": received 42; expected the name of a monitor'],
    ['retryAfterSeconds', 1.5, '"@RequireAuditStorage().retryAfterSeconds": received 1.5; expected a whole number'],
    [
      'trialTimeoutMs',
      0,
      '"@RequireAuditStorage().trialTimeoutMs": received 0; expected a finite number of milliseconds from 1 to 2147483647',
    ],
    ['retry', 1, 'Unknown audit alert option "@RequireAuditStorage().retry"'],
  ])('rejects a bad %s as the class loads', (key, value, message) => {
    const decorate = () => RequireAuditStorage({ [key]: value } as never);
    expect(decorate).toThrow(AuditAlertConfigError);
    expect(decorate).toThrow(message);
  });
});

describe('AuditStorageGuard in a non-HTTP execution context', () => {
  it('refuses an RPC handler the way Nest runs guards for microservice and WebSocket handlers', async () => {
    @Injectable()
    class LedgerHandlers {
      @RequireAuditStorage()
      transfer(): string {
        return 'done';
      }
    }
    const { app, transfer } = await startRpcHandler(LedgerHandlers);
    try {
      await expect(transfer()).resolves.toBe('done');
      app.get(AuditMonitorRegistry).get('default').recordFailure(new Error('down'));
      await expect(transfer()).rejects.toMatchObject({ status: 503 });
    } finally {
      await app.close();
    }
  });
});

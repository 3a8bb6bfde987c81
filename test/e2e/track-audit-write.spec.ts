import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, Module, Scope, SetMetadata, type INestApplication } from '@nestjs/common';
import { ContextIdFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertModule,
  AuditMonitorRegistry,
  AuditStorageMonitor,
  TrackAuditWrite,
  type AuditAlertModuleOptions,
} from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { ManualClock } from '../support/manual-clock.js';

/** A stand-in for a database table: what the methods write, and whether it refuses writes. */
class Table {
  readonly rows: string[] = [];
  down = false;

  insert(row: string): string {
    if (this.down) throw new Error(`insert ${row}: connection refused`);
    this.rows.push(row);
    return `id-${this.rows.length}`;
  }
}

@Injectable()
class AuditService {
  readonly table = new Table();

  @TrackAuditWrite()
  async write(row: string): Promise<string> {
    await Promise.resolve();
    return this.table.insert(row);
  }

  @TrackAuditWrite()
  writeSync(row: string): string {
    return this.table.insert(row);
  }

  @TrackAuditWrite('archive')
  async archive(row: string): Promise<string> {
    return this.table.insert(`archive:${row}`);
  }

  // Metadata of a decorator applied before (below) and one applied after (above) the tracking decorator.
  @OnEvent('audit.record.created')
  @TrackAuditWrite()
  @SetMetadata('audit-role', 'writer')
  onRecordCreated(row: string): string {
    return this.table.insert(`event:${row}`);
  }

  untracked(row: string): string {
    return this.table.insert(row);
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientWriter {
  readonly table = new Table();

  @TrackAuditWrite()
  async write(row: string): Promise<string> {
    return this.table.insert(row);
  }
}

@Controller()
class AuditController {
  readonly table = new Table();

  @TrackAuditWrite()
  create(row: string): string {
    return this.table.insert(row);
  }
}

const options: AuditAlertModuleOptions = {
  thresholdMs: 1_000,
  monitors: [{ name: 'default' }, { name: 'archive' }],
};

const apps: INestApplication[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(moduleOptions: AuditAlertModuleOptions = options, { transient = true } = {}) {
  const logger = new CaptureLogger();
  @Module({
    imports: [EventEmitterModule.forRoot(), AuditAlertModule.forRoot(moduleOptions)],
    providers: transient ? [AuditService, TransientWriter] : [AuditService],
    controllers: [AuditController],
  })
  class AppModule {}
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger });
  apps.push(app);
  await app.init();
  const registry = app.get(AuditMonitorRegistry);
  return {
    app,
    clock,
    logger,
    service: app.get(AuditService),
    monitor: app.get(AuditStorageMonitor),
    archive: registry.get('archive'),
  };
}

describe('@TrackAuditWrite()', () => {
  it('records an async method that resolves as a success, and returns what it returned', async () => {
    const { service, monitor } = await start();
    monitor.recordFailure(new Error('earlier outage'));
    expect(monitor.getStatus().state).toBe('failing');
    await expect(service.write('row-1')).resolves.toBe('id-1');
    expect(monitor.getStatus().state).toBe('healthy');
    expect(service.table.rows).toEqual(['row-1']);
  });

  it('records an async method that rejects as a failure, and rejects with the same error', async () => {
    const { service, monitor } = await start();
    service.table.down = true;
    const rejection = await service.write('row-1').catch((error: unknown) => error);
    expect(rejection).toBeInstanceOf(Error);
    expect((rejection as Error).message).toBe('insert row-1: connection refused');
    expect(monitor.getStatus()).toMatchObject({
      state: 'failing',
      consecutiveFailures: 1,
      lastError: 'Error: insert row-1: connection refused',
    });
  });

  it('keeps a sync method sync: a value is returned as is, a throw is recorded and rethrown', async () => {
    const { service, monitor } = await start();
    service.table.down = true;
    let thrown: unknown;
    try {
      service.writeSync('row-1');
    } catch (error) {
      thrown = error;
    }
    expect((thrown as Error).message).toBe('insert row-1: connection refused');
    expect(monitor.getStatus().consecutiveFailures).toBe(1);
    service.table.down = false;
    const result = service.writeSync('row-2');
    expect(result).toBe('id-1');
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('reports to the monitor it names, leaving the others alone', async () => {
    const { service, monitor, archive } = await start();
    service.table.down = true;
    await expect(service.archive('row-1')).rejects.toThrow('connection refused');
    expect(archive.getStatus().state).toBe('failing');
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('alerts as track() does once the failures last past the threshold', async () => {
    const { service, monitor, clock } = await start();
    service.table.down = true;
    await expect(service.write('row-1')).rejects.toThrow();
    clock.advance(1_000);
    expect(monitor.getStatus().state).toBe('alerting');
  });

  it("keeps the method's name and the metadata of the decorators around it", async () => {
    const { app, service, monitor } = await start();
    expect(AuditService.prototype.onRecordCreated.name).toBe('onRecordCreated');
    expect(Reflect.getMetadata('audit-role', AuditService.prototype.onRecordCreated)).toBe('writer');
    // @OnEvent still subscribes the method, and the calls it makes are tracked.
    service.table.down = true;
    await app.get(EventEmitter2).emitAsync('audit.record.created', 'row-1');
    expect(monitor.getStatus()).toMatchObject({
      state: 'failing',
      lastError: 'Error: insert event:row-1: connection refused',
    });
  });

  it('tracks the methods of controllers and of transient providers', async () => {
    const { app, monitor } = await start();
    const controller = app.get(AuditController);
    controller.table.down = true;
    expect(() => controller.create('row-1')).toThrow('connection refused');
    expect(monitor.getStatus().consecutiveFailures).toBe(1);

    const writer = await app.resolve(TransientWriter, ContextIdFactory.create());
    writer.table.down = true;
    await expect(writer.write('row-2')).rejects.toThrow('connection refused');
    expect(monitor.getStatus().consecutiveFailures).toBe(2);
  });

  it('reports to the monitors of the application that created the instance, with two applications running', async () => {
    const first = await start(options, { transient: false });
    const second = await start(options, { transient: false });
    second.service.table.down = true;
    await expect(second.service.write('row-1')).rejects.toThrow();
    expect(second.monitor.getStatus().state).toBe('failing');
    expect(first.monitor.getStatus().state).toBe('healthy');
    await expect(first.service.write('row-2')).resolves.toBe('id-1');
    expect(second.monitor.getStatus().state).toBe('failing');
  });

  it('stops the bootstrap of a second running application with the same transient class, which it cannot tell apart', async () => {
    await start();
    const error = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as Error).message).toMatch(/^TransientWriter has @TrackAuditWrite\(\) methods and is request-scoped/);
    // Once the first application is closed, its links are gone and the class may be used again.
    await Promise.all(apps.splice(0).map((app) => app.close()));
    const { app, monitor } = await start();
    const writer = await app.resolve(TransientWriter, ContextIdFactory.create());
    writer.table.down = true;
    await expect(writer.write('row-1')).rejects.toThrow('connection refused');
    expect(monitor.getStatus().state).toBe('failing');
  });

  it('runs, untracked and with one warning, on an instance no application created', async () => {
    const { monitor, logger } = await start();
    const loose = new AuditService();
    loose.table.down = true;
    await expect(loose.write('row-1')).rejects.toThrow('connection refused');
    await expect(loose.write('row-2')).rejects.toThrow('connection refused');
    expect(monitor.getStatus().state).toBe('healthy');
    expect(logger.of('warn')).toEqual([
      'AuditService.write (@TrackAuditWrite) was called on an instance no running AuditAlertModule created or knows ' +
        '(made with new, a static method, or called before the module initialised); the write ran but was not tracked.',
    ]);
  });

  it('stops the bootstrap when a method names a monitor that does not exist', async () => {
    const error = await start({ thresholdMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as Error).message).toBe(
      `AuditService.archive is decorated with @TrackAuditWrite('archive'), but no monitor has that name; the monitors are: default.`,
    );
  });

  it('refuses what is not a method, or a monitor name that is not a string', () => {
    expect(() => TrackAuditWrite('')).toThrow(AuditAlertConfigError);
    expect(() => TrackAuditWrite(42 as unknown as string)).toThrow('"@TrackAuditWrite(monitor)"');
    const decorate = TrackAuditWrite();
    class Odd {}
    expect(() => decorate(Odd.prototype, 'field', { value: 3 })).toThrow(
      '@TrackAuditWrite() decorates methods; Odd.field is not one.',
    );
  });
});

import { Test, TestingModule } from '@nestjs/testing';
import { AuditStorageMonitor, isStorageUnreachableEvent } from 'nestjs-audit-alert';
import { AppModule } from './app.module';
import { AuditService } from './audit.service';
import { PagerHook } from './pager.hook';

describe('AuditService', () => {
  let app: TestingModule;

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await app.init();
  });

  afterEach(() => app.close());

  it('loads the CommonJS build of the package', () => {
    expect(require.resolve('nestjs-audit-alert')).toMatch(/nestjs-audit-alert[/\\]dist[/\\]cjs[/\\]index\.js$/);
  });

  it('alerts the hook when a write fails, and tracks the recovery', async () => {
    const service = app.get(AuditService);
    const hook = app.get(PagerHook);
    const monitor = app.get(AuditStorageMonitor);

    await expect(service.write(() => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(monitor.getStatus().state).toBe('alerting');
    while (hook.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(isStorageUnreachableEvent(hook.events[0])).toBe(true);
    expect(hook.events[0]).toMatchObject({ serviceName: 'consumer', lastError: 'Error: db down' });

    await expect(service.write(() => Promise.resolve('row-1'))).resolves.toBe('row-1');
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('tracks the writes of a @TrackAuditWrite() method', async () => {
    const service = app.get(AuditService);
    const monitor = app.get(AuditStorageMonitor);

    await expect(service.record(() => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(monitor.getStatus()).toMatchObject({ state: 'alerting', lastError: 'Error: db down' });
    await expect(service.record(() => Promise.resolve('row-2'))).resolves.toBe('row-2');
    expect(monitor.getStatus().state).toBe('healthy');
  });
});

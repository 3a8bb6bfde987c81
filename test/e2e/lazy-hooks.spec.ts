import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { LazyModuleLoader } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type OnAuditAlert,
} from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';

const received: string[] = [];

@AuditAlertHook()
class LazyPagerHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push(event.type);
  }
}

@Module({ providers: [LazyPagerHook] })
class LazyAlertsModule {}

describe('hooks of a module loaded with LazyModuleLoader', () => {
  it('receive the alerts raised after the module is loaded', async () => {
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [AuditAlertModule.forRoot({ thresholdMs: 0, notifyRecovery: true })],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(new ManualClock())
      .compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    const monitor = app.get(AuditStorageMonitor);

    monitor.recordFailure(new Error('before the load'));
    monitor.recordSuccess();
    await flush();
    expect(received).toEqual([]);

    await app.get(LazyModuleLoader).load(() => LazyAlertsModule);
    monitor.recordFailure(new Error('after the load'));
    monitor.recordSuccess();
    await flush();
    expect(received).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(logger.of('log')).toContain(
      'Found LazyPagerHook in a lazily loaded module; it receives the alerts from now on.',
    );
    await app.close();
  });
});

import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type OnAuditAlert,
} from '../../src/index.js';
import { flush, ManualClock } from '../support/manual-clock.js';

@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

@Injectable()
class AuditService {
  constructor(readonly monitor: AuditStorageMonitor) {}
}

@Module({ imports: [AuditAlertModule.forRoot({ thresholdMs: 1_000 })], providers: [RecordingHook, AuditService] })
class AppModule {}

describe('smoke', () => {
  it('alerts a hook from the threshold timer and announces the recovery', async () => {
    const clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const service = app.get(AuditService);
    const hook = app.get(RecordingHook);
    service.monitor.recordFailure(new Error('connect ECONNREFUSED'));
    clock.advance(1_000);
    await flush();
    expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
    service.monitor.recordSuccess();
    await flush();
    expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    await app.close();
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Global,
  Inject,
  Injectable,
  Module,
  type INestApplication,
  type OnModuleInit,
  Scope,
  type Type,
} from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertEvents,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type OnAuditAlert,
} from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { RejectionWatch } from '../support/rejection-watch.js';

const received: { hook: string; event: AuditAlertEvent; instance?: unknown }[] = [];
const types = (hook: string) => received.filter((r) => r.hook === hook).map((r) => r.event.type);

@AuditAlertHook()
class AllHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'all', event });
  }
}

@AuditAlertHook({ events: [AuditAlertEvents.StorageRecovered] })
class RecoveryOnlyHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'recovery-only', event });
  }
}

@AuditAlertHook()
class ThrowingHook implements OnAuditAlert {
  onAuditAlert(): void {
    throw new Error('hook exploded with password=hunter2');
  }
}

@AuditAlertHook()
class RejectingHook implements OnAuditAlert {
  async onAuditAlert(): Promise<void> {
    throw new Error('hook rejected');
  }
}

@AuditAlertHook()
class HangingHook implements OnAuditAlert {
  onAuditAlert(): Promise<void> {
    return new Promise(() => undefined);
  }
}

@Injectable({ scope: Scope.REQUEST })
@AuditAlertHook()
class RequestScopedHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'request', event, instance: this });
  }
}

@Injectable({ scope: Scope.TRANSIENT })
@AuditAlertHook()
class TransientHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'transient', event, instance: this });
  }
}

@Injectable()
class EventListener {
  readonly events: AuditAlertEvent[] = [];
  @OnEvent(AuditAlertEvents.StorageUnreachable)
  onUnreachable(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

@Module({ providers: [AllHook] })
class FeatureModule {}

let clock: ManualClock;
let logger: CaptureLogger;
let app: INestApplication | undefined;
let rejections: RejectionWatch;

async function start(
  providers: Type<unknown>[] | unknown[],
  options: AuditAlertModuleOptions = { thresholdMs: 0 },
  imports: unknown[] = [],
): Promise<{ app: INestApplication; monitor: AuditStorageMonitor }> {
  const moduleRef = await Test.createTestingModule({
    imports: [...(imports as never[]), AuditAlertModule.forRoot(options)],
    providers: providers as never[],
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  app = moduleRef.createNestApplication({ logger });
  await app.init();
  return { app, monitor: app.get(AuditStorageMonitor) };
}

async function outage(monitor: AuditStorageMonitor): Promise<void> {
  monitor.recordFailure(new Error('db down'));
  monitor.recordSuccess();
  await flush();
}

beforeEach(() => {
  received.length = 0;
  clock = new ManualClock();
  logger = new CaptureLogger();
  rejections = new RejectionWatch();
  rejections.install();
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await flush();
  rejections.uninstall();
  expect(rejections.reasons).toEqual([]);
});

describe('hook discovery', () => {
  it('finds hooks in any module and honours the events filter', async () => {
    const { monitor } = await start([RecoveryOnlyHook], { thresholdMs: 0 }, [FeatureModule]);
    await outage(monitor);
    expect(types('all')).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(types('recovery-only')).toEqual(['audit.storage.recovered']);
  });

  it('calls an aliased (useExisting) hook once', async () => {
    const { monitor } = await start([AllHook, { provide: 'PAGER', useExisting: AllHook }]);
    await outage(monitor);
    expect(types('all')).toHaveLength(2);
  });

  it('finds hooks provided by useValue and useFactory', async () => {
    const { monitor } = await start([
      { provide: 'VALUE_HOOK', useValue: new AllHook() },
      { provide: 'FACTORY_HOOK', useFactory: () => new RecoveryOnlyHook() },
    ]);
    await outage(monitor);
    expect(types('all')).toHaveLength(2);
    expect(types('recovery-only')).toHaveLength(1);
  });

  it('resolves request-scoped and transient hooks afresh for every alert', async () => {
    const { monitor } = await start([RequestScopedHook, TransientHook]);
    await outage(monitor);
    await outage(monitor);
    for (const hook of ['request', 'transient']) {
      const instances = received.filter((r) => r.hook === hook).map((r) => r.instance);
      expect(instances).toHaveLength(4);
      expect(new Set(instances).size).toBe(4);
    }
  });

  it('stops the bootstrap when a hook has no onAuditAlert method, naming the class', async () => {
    @AuditAlertHook()
    class PagerWithoutMethod {}
    await expect(start([PagerWithoutMethod])).rejects.toThrow(
      new AuditAlertConfigError(
        'PagerWithoutMethod is decorated with @AuditAlertHook() but has no onAuditAlert(event) method; implement OnAuditAlert.',
        'PagerWithoutMethod.onAuditAlert',
      ),
    );
  });

  it('stops the bootstrap on an unknown event type in the filter', async () => {
    @AuditAlertHook({ events: ['audit.storage.exploded' as never] })
    class OddHook implements OnAuditAlert {
      onAuditAlert(): void {}
    }
    await expect(start([OddHook])).rejects.toThrow(/@AuditAlertHook\(OddHook\)\.events/);
  });
});

describe('dispatch', () => {
  it('returns from recordFailure() before any hook runs', async () => {
    const { monitor } = await start([AllHook]);
    monitor.recordFailure('down');
    expect(received).toHaveLength(0);
    await flush();
    expect(received).toHaveLength(1);
  });

  it('isolates hooks that throw, reject or hang: the others get every event, failures are logged', async () => {
    const { monitor } = await start([ThrowingHook, RejectingHook, HangingHook, AllHook], {
      thresholdMs: 0,
      hookTimeoutMs: 2_000,
    });
    await outage(monitor);
    expect(types('all')).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    const errors = logger.of('error');
    expect(errors).toContain(
      'Hook ThrowingHook failed on audit.storage.unreachable: Error: hook exploded with password=[REDACTED]',
    );
    expect(errors).toContain('Hook RejectingHook failed on audit.storage.recovered: Error: hook rejected');
    expect(logger.of('warn')).toEqual([]);
    clock.advance(2_000);
    await flush();
    expect(logger.of('warn')).toEqual([
      'Hook HangingHook did not finish audit.storage.unreachable within 2000 ms; abandoned.',
      'Hook HangingHook did not finish audit.storage.recovered within 2000 ms; abandoned.',
    ]);
  });

  it('shares the application EventEmitter2, so @OnEvent listeners receive alerts too', async () => {
    const { app, monitor } = await start([EventListener, AllHook], { thresholdMs: 0 }, [EventEmitterModule.forRoot()]);
    await outage(monitor);
    await flush();
    expect(app.get(EventListener).events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
    expect(types('all')).toHaveLength(2);
  });

  it('keeps a throwing synchronous @OnEvent listener away from the caller', async () => {
    const shared = new EventEmitter2();
    shared.on(AuditAlertEvents.StorageUnreachable, () => {
      throw new Error('listener broke');
    });
    @Global()
    @Module({ providers: [{ provide: EventEmitter2, useValue: shared }], exports: [EventEmitter2] })
    class SharedEmitterModule {}
    const { monitor } = await start([AllHook], { thresholdMs: 0 }, [SharedEmitterModule]);
    expect(() => monitor.recordFailure('x')).not.toThrow();
    await flush();
    expect(types('all')).toEqual(['audit.storage.unreachable']);
    expect(logger.of('error')).toEqual(['A listener of audit.storage.unreachable threw: Error: listener broke']);
  });

  it('queues alerts raised before bootstrap and delivers them once hooks are subscribed', async () => {
    @Injectable()
    class EarlyWriter implements OnModuleInit {
      constructor(@Inject(AuditStorageMonitor) private readonly monitor: AuditStorageMonitor) {}
      onModuleInit(): void {
        this.monitor.recordFailure(new Error('down at start'));
      }
    }
    const { app } = await start([EarlyWriter, AllHook, EventListener], { thresholdMs: 0 }, [
      EventEmitterModule.forRoot(),
    ]);
    await flush();
    expect(types('all')).toEqual(['audit.storage.unreachable']);
    expect(app.get(EventListener).events).toHaveLength(1);
  });
});

describe('shutdown', () => {
  it("leaves a shared emitter with only the application's own listeners", async () => {
    const shared = new EventEmitter2();
    const own = () => undefined;
    shared.on(AuditAlertEvents.StorageUnreachable, own);
    @Global()
    @Module({ providers: [{ provide: EventEmitter2, useValue: shared }], exports: [EventEmitter2] })
    class SharedEmitterModule {}
    const started = await start([AllHook, RecoveryOnlyHook], { thresholdMs: 0 }, [SharedEmitterModule]);
    // Hooks are called by the dispatcher itself, not through the application's emitter.
    expect(shared.listeners(AuditAlertEvents.StorageUnreachable)).toEqual([own]);
    expect(shared.listeners(AuditAlertEvents.StorageRecovered)).toEqual([]);
    await started.app.close();
    app = undefined;
    expect(shared.listeners(AuditAlertEvents.StorageUnreachable)).toEqual([own]);
    expect(shared.listeners(AuditAlertEvents.StorageRecovered)).toEqual([]);
  });

  it('waits for deliveries in flight', async () => {
    let finish!: () => void;
    let finished = false;
    @AuditAlertHook()
    class SlowHook implements OnAuditAlert {
      async onAuditAlert(): Promise<void> {
        await new Promise<void>((resolve) => (finish = resolve));
        finished = true;
      }
    }
    const started = await start([SlowHook]);
    started.monitor.recordFailure('x');
    let closed = false;
    const closing = started.app.close().then(() => (closed = true));
    app = undefined;
    await flush();
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(finished).toBe(true);
  });

  it('gives up on deliveries still running after shutdownTimeoutMs', async () => {
    const started = await start([HangingHook], { thresholdMs: 0, shutdownTimeoutMs: 1_000, hookTimeoutMs: 60_000 });
    started.monitor.recordFailure('x');
    let closed = false;
    const closing = started.app.close().then(() => (closed = true));
    app = undefined;
    await flush();
    clock.advance(999);
    await flush();
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(logger.of('warn')).toEqual([
      '1 alert deliveries still in flight after 1000 ms; shutting down without them.',
    ]);
  });

  it('clears the threshold timer', async () => {
    const started = await start([AllHook], { thresholdMs: 10_000 });
    started.monitor.recordFailure('x');
    expect(clock.pendingTimers).toBe(1);
    await started.app.close();
    app = undefined;
    expect(clock.pendingTimers).toBe(0);
  });
});

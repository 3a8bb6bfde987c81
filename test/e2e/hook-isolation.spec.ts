import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertEvents,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type OnAuditAlert,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { ChannelApps } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

describe('each recipient gets an event no other can alter', () => {
  const seen: { by: string; event: AuditAlertEvent; firstFailureAt: unknown; outageId: unknown }[] = [];
  const tampering: string[] = [];
  const attempt = (what: string, change: () => void): void => {
    try {
      change();
      tampering.push(`${what}: allowed`);
    } catch {
      tampering.push(`${what}: refused`);
    }
  };
  const record = (by: string, event: AuditAlertEvent): void => {
    const { firstFailureAt, outageId } = event as StorageUnreachableEvent;
    seen.push({ by, event, firstFailureAt: firstFailureAt?.getTime(), outageId });
  };

  @AuditAlertHook({ events: [AuditAlertEvents.StorageUnreachable] })
  class TamperingHook implements OnAuditAlert {
    onAuditAlert(event: AuditAlertEvent): void {
      const target = event as unknown as Record<string, unknown> & { firstFailureAt: Date };
      attempt(
        'replace a date by a string',
        () => (target.firstFailureAt = target.firstFailureAt.toISOString() as never),
      );
      attempt('delete outageId', () => delete target.outageId);
      attempt('add a field', () => (target.extra = 1));
      attempt('setTime on a date', () => target.firstFailureAt.setTime(0));
      attempt('setFullYear on a date', () => target.firstFailureAt.setFullYear(1970));
      // Around the read-only setters: changes this hook's own copy, and no one else's.
      Date.prototype.setTime.call(target.firstFailureAt, 0);
    }
  }

  @AuditAlertHook({ events: [AuditAlertEvents.StorageUnreachable] })
  class WatchingHook implements OnAuditAlert {
    onAuditAlert(event: AuditAlertEvent): void {
      record('hook', event);
    }
  }

  @Injectable()
  class Listener {
    @OnEvent(AuditAlertEvents.StorageUnreachable)
    onUnreachable(event: AuditAlertEvent): void {
      record('listener', event);
    }
  }

  it('so a tampering hook breaks neither the channels nor the other hooks and listeners', async () => {
    const [webhook, slack, pagerduty] = [await apps.receiver(), await apps.receiver(), await apps.receiver()];
    pagerduty.fallback = { status: 202 };
    const app = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        AuditAlertModule.forRoot({
          serviceName: 'billing-api',
          thresholdMs: 0,
          channels: [
            { type: 'webhook', url: webhook.url('/hook') },
            { type: 'slack', url: slack.url('/slack') },
            { type: 'pagerduty', routingKey: 'R0UTINGKEY', url: pagerduty.url('/v2/enqueue') },
          ],
        }),
      ],
      // Both orders: the tampering hook runs before one watching hook and after the other.
      providers: [WatchingHook, TamperingHook, { provide: 'second', useClass: WatchingHook }, Listener],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(new ManualClock())
      .compile();
    const nest = app.createNestApplication({ logger: new CaptureLogger() });
    await nest.init();
    const monitor = nest.get(AuditStorageMonitor);
    monitor.recordFailure(new Error('down'));
    const { outageId, firstFailureAt } = monitor.getStatus();
    await Promise.all([webhook, slack, pagerduty].map((r) => r.waitForRequests(1)));
    await waitFor(() => seen.length >= 3, 'the hooks and the listener');

    expect(tampering).toEqual([
      'replace a date by a string: refused',
      'delete outageId: refused',
      'add a field: refused',
      'setTime on a date: refused',
      'setFullYear on a date: refused',
    ]);
    expect(seen.map((s) => s.by).sort()).toEqual(['hook', 'hook', 'listener']);
    for (const { event, firstFailureAt: time, outageId: id } of seen) {
      expect(id).toBe(outageId);
      expect(time).toBe(firstFailureAt!.getTime());
      expect((event as StorageUnreachableEvent).firstFailureAt.toISOString()).toBe(firstFailureAt!.toISOString());
      expect(Object.isFrozen(event)).toBe(true);
    }
    const [body] = webhook.bodies() as Record<string, unknown>[];
    expect(body).toMatchObject({ outageId, firstFailureAt: firstFailureAt!.toISOString() });
    expect(body).not.toHaveProperty('extra');
    expect(slack.requests).toHaveLength(1);
    expect(JSON.parse(pagerduty.requests[0]!.body)).toMatchObject({
      payload: { timestamp: firstFailureAt!.toISOString(), custom_details: { outageId } },
    });
    await nest.close();
  });
});

describe('a hook that blocks the event loop', () => {
  let release: () => void = () => undefined;
  let clock: ManualClock;

  /** Its answer is on the way when the other hook blocks; it arrives once the test releases it. */
  @AuditAlertHook()
  class InnocentHook implements OnAuditAlert {
    onAuditAlert(): Promise<void> {
      return new Promise((resolve) => (release = resolve));
    }
  }

  /** Holds the event loop for 1.5 s, as a synchronous loop would; the manual clock sees the time pass. */
  @AuditAlertHook()
  class BlockingHook implements OnAuditAlert {
    onAuditAlert(): void {
      clock.stall(1_500);
    }
  }

  @AuditAlertHook()
  class HangingHook implements OnAuditAlert {
    onAuditAlert(): Promise<void> {
      return new Promise(() => undefined);
    }
  }

  it('is the one blamed, not a hook whose deadline passed while it blocked', async () => {
    clock = new ManualClock();
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [AuditAlertModule.forRoot({ thresholdMs: 0, notifyRecovery: false, hookTimeoutMs: 1_000 })],
      // Called in this order: the hanging and innocent hooks start before the blocking one runs.
      providers: [HangingHook, InnocentHook, BlockingHook],
    })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger });
    await app.init();
    app.get(AuditStorageMonitor).recordFailure(new Error('down'));
    await flush();
    clock.advance(0); // the loop resumes: the 1,000 ms deadlines armed before the block are due
    await flush();
    release();
    await flush();
    expect(logger.of('warn')).toEqual([
      'Hook BlockingHook blocked the event loop for 1500 ms on audit.storage.unreachable, past its 1000 ms deadline; every other hook and the application waited.',
    ]);
    // The hanging hook gets the time the other took from it, and no more.
    clock.advance(1_499);
    await flush();
    expect(logger.of('warn')).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(logger.of('warn')[1]).toBe(
      'Hook HangingHook did not finish audit.storage.unreachable within 1000 ms; abandoned.',
    );
    expect(logger.of('log').filter((line) => line.includes('InnocentHook'))).toHaveLength(1);
    await app.close();
  });
});

describe('a hook that blocks the event loop for real', () => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  @AuditAlertHook()
  class QuickHook implements OnAuditAlert {
    async onAuditAlert(): Promise<void> {
      await sleep(1);
      await sleep(1);
    }
  }

  @AuditAlertHook()
  class SpinningHook implements OnAuditAlert {
    onAuditAlert(): void {
      const until = performance.now() + 60;
      while (performance.now() < until);
    }
  }

  it('is blamed on the real clock too', async () => {
    const logger = new CaptureLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [AuditAlertModule.forRoot({ thresholdMs: 0, notifyRecovery: false, hookTimeoutMs: 20 })],
      providers: [SpinningHook, QuickHook],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    app.get(AuditStorageMonitor).recordFailure(new Error('down'));
    await waitFor(() => logger.of('log').some((line) => line.includes('QuickHook')), 'the quick hook');
    const warnings = logger.of('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Hook SpinningHook blocked the event loop for \d+ ms on audit\.storage\.unreachable/);
    await app.close();
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertHook,
  AuditAlertModule,
  AuditMonitorRegistry,
  AuditStorageMonitor,
  InjectAuditMonitor,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type OnAuditAlert,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { flush, ManualClock } from '../support/manual-clock.js';

const received: { hook: string; event: AuditAlertEvent }[] = [];

@AuditAlertHook()
class EveryMonitorHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'every', event });
  }
}

@AuditAlertHook({ monitors: ['archive'] })
class ArchiveHook implements OnAuditAlert {
  onAuditAlert(event: AuditAlertEvent): void {
    received.push({ hook: 'archive', event });
  }
}

@Injectable()
class Stores {
  constructor(
    readonly primary: AuditStorageMonitor,
    @InjectAuditMonitor('archive') readonly archive: AuditStorageMonitor,
    readonly registry: AuditMonitorRegistry,
  ) {}
}

let app: INestApplication | undefined;

async function start(options: AuditAlertModuleOptions, providers: unknown[], clock = new ManualClock()) {
  const moduleRef = await Test.createTestingModule({
    imports: [AuditAlertModule.forRoot(options)],
    providers: providers as never[],
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, clock };
}

afterEach(async () => {
  received.length = 0;
  await app?.close();
  app = undefined;
});

describe('several monitors', () => {
  const options: AuditAlertModuleOptions = {
    thresholdMs: 1_000,
    monitors: [{ name: 'default' }, { name: 'archive', thresholdMs: 5_000 }],
  };

  it('tracks each store on its own, with its own threshold, outage and events', async () => {
    const { app, clock } = await start(options, [Stores, EveryMonitorHook, ArchiveHook]);
    const { primary, archive, registry } = app.get(Stores);
    expect(primary.name).toBe('default');
    expect(archive.name).toBe('archive');
    expect(registry.get('archive')).toBe(archive);
    expect(registry.list().map((m) => m.name)).toEqual(['default', 'archive']);

    primary.recordFailure('primary down');
    archive.recordFailure('archive down');
    clock.advance(1_000);
    await flush();
    expect(received.map((r) => `${r.hook}:${r.event.monitor}`)).toEqual(['every:default']);
    clock.advance(4_000);
    await flush();
    expect(received.map((r) => `${r.hook}:${r.event.monitor}`).sort()).toEqual([
      'archive:archive',
      'every:archive',
      'every:default',
    ]);
    const [first, second] = received.map((r) => r.event as StorageUnreachableEvent);
    expect(first!.outageId).not.toBe(second!.outageId);
    expect(second!.lastError).toBe('archive down');

    primary.recordSuccess();
    expect(archive.getStatus().state).toBe('alerting');
    expect(primary.getStatus().state).toBe('healthy');
  });

  it('makes the first monitor the default when none is named "default"', async () => {
    const { app } = await start({ monitors: [{ name: 'primary' }, { name: 'archive' }] }, [Stores]);
    expect(app.get(Stores).primary.name).toBe('primary');
  });

  it.each<[string, unknown, string]>([
    ['duplicate names', [{ name: 'a' }, { name: 'a' }], 'monitors[1].name'],
    ['an invalid name', [{ name: 'has space' }], 'monitors[0].name'],
    ['a missing name', [{ thresholdMs: 1 }], 'monitors[0].name'],
    ['an empty list', [], 'monitors'],
    ['a bad override', [{ name: 'a', cooldownMs: -1 }], 'monitors[0].cooldownMs'],
    ['an unknown key', [{ name: 'a', serviceName: 'x' }], 'monitors[0].serviceName'],
  ])('stops the bootstrap on %s', async (_, monitors, option) => {
    const error = await start({ monitors } as AuditAlertModuleOptions, []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as AuditAlertConfigError).option).toBe(option);
  });

  it('stops the bootstrap when an injected or filtered monitor does not exist', async () => {
    await expect(start({ monitors: [{ name: 'primary' }] }, [Stores])).rejects.toThrow(
      'Stores injects the audit monitor "archive", but the monitors are: primary.',
    );
    await expect(start({}, [ArchiveHook])).rejects.toThrow(/@AuditAlertHook\(ArchiveHook\)\.monitors/);
  });
});

describe('probe', () => {
  it('announces a recovery during a silent period within one probe interval', async () => {
    let up = false;
    let checks = 0;
    const { app, clock } = await start(
      {
        thresholdMs: 1_000,
        probe: {
          intervalMs: 500,
          check: async () => {
            checks += 1;
            if (!up) throw new Error('still down');
          },
        },
      },
      [EveryMonitorHook],
    );
    const monitor = app.get(AuditStorageMonitor);
    expect(clock.pendingTimers).toBe(0);
    monitor.recordFailure('write failed');
    for (let i = 0; i < 4; i += 1) {
      clock.advance(500);
      await flush();
    }
    expect(checks).toBe(4);
    // Probes are not writes: they are counted, and their error kept, in fields of their own.
    expect(monitor.getStatus()).toMatchObject({
      state: 'alerting',
      consecutiveFailures: 1,
      eventsAffected: 1,
      lastError: 'write failed',
      probeFailures: 4,
      lastProbeError: 'Error: still down',
    });
    up = true;
    clock.advance(500);
    await flush();
    expect(received.map((r) => r.event.type)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect((received[1]!.event as StorageRecoveredEvent).outageDurationMs).toBe(2_500);
    clock.advance(10_000);
    await flush();
    expect(checks).toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never runs two checks at once: the next starts an interval after the last ended', async () => {
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const clock = new ManualClock();
    const { app } = await start(
      {
        thresholdMs: 60_000,
        probe: {
          intervalMs: 100,
          timeoutMs: 1_000,
          check: () => {
            running += 1;
            most = Math.max(most, running);
            starts.push(clock.monotonicNow());
            // Slower than the interval, faster than the timeout; still failing.
            return new Promise((_, reject) =>
              clock.setTimer(() => {
                running -= 1;
                reject(new Error('slow and down'));
              }, 300),
            );
          },
        },
      },
      [],
      clock,
    );
    const monitor = app.get(AuditStorageMonitor);
    monitor.recordFailure('x');
    const t0 = clock.monotonicNow();
    for (let i = 0; i < 20; i += 1) {
      clock.advance(100);
      await flush();
    }
    expect(most).toBe(1);
    expect(starts.map((t) => t - t0)).toEqual([100, 500, 900, 1_300, 1_700]);
    expect(monitor.getStatus()).toMatchObject({ consecutiveFailures: 1, probeFailures: 5 });
  });

  it('counts a check that hangs past timeoutMs as a failure', async () => {
    const { app, clock } = await start(
      { thresholdMs: 60_000, probe: { intervalMs: 100, timeoutMs: 1_000, check: () => new Promise(() => undefined) } },
      [],
    );
    const monitor = app.get(AuditStorageMonitor);
    monitor.recordFailure('x');
    for (let i = 0; i < 30; i += 1) {
      clock.advance(100);
      await flush();
    }
    // Checks start at 100, 1 200 and 2 300 ms; the first two have timed out by 3 000 ms.
    // A probe that times out is a failed probe, not a lost write.
    expect(monitor.getStatus()).toMatchObject({
      consecutiveFailures: 1,
      eventsAffected: 1,
      lastError: 'x',
      probeFailures: 2,
      lastProbeError: 'Error: Probe of monitor "default" did not answer within 1000 ms',
    });
  });

  it('probes while healthy only when asked to, and notices an outage without a write', async () => {
    let up = true;
    const { app, clock } = await start(
      {
        thresholdMs: 1_000,
        probeWhileHealthy: true,
        probe: {
          intervalMs: 1_000,
          check: () => (up ? Promise.resolve() : Promise.reject(new Error('down'))),
        },
      },
      [EveryMonitorHook],
    );
    clock.advance(3_000);
    await flush();
    up = false;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(1_000);
      await flush();
    }
    expect(received.map((r) => r.event.type)).toEqual(['audit.storage.unreachable']);
    up = true;
    clock.advance(1_000);
    await flush();
    expect(received.map((r) => r.event.type)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(clock.pendingTimers).toBe(1);
    await app.close();
    received.length = 0;
    expect(clock.pendingTimers).toBe(0);
  });

  it.each<[string, unknown, string]>([
    ['a probe without check', { intervalMs: 10 }, 'probe.check'],
    ['a zero interval', { check: () => 1, intervalMs: 0 }, 'probe.intervalMs'],
    ['an unknown key', { check: () => 1, every: 5 }, 'probe.every'],
  ])('stops the bootstrap on %s', async (_, probe, option) => {
    const error = await start({ probe } as AuditAlertModuleOptions, []).catch((e: unknown) => e);
    expect((error as AuditAlertConfigError).option).toBe(option);
  });
});

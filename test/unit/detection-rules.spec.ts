import { describe, expect, it } from '@jest/globals';
import {
  AuditAlertConfigError,
  isStorageDegradedEvent,
  type StorageDegradedEvent,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';

type Harness = ReturnType<typeof monitorHarness>;

/** Writes at a steady rate for `ms`: one every `everyMs`, the n-th failing when `fails(n)`. */
function writeFor(h: Harness, ms: number, everyMs: number, fails: (n: number) => boolean): void {
  for (let n = 0, t = 0; t < ms; n += 1, t += everyMs) {
    if (fails(n)) h.monitor.recordFailure(new Error(`write ${n} refused`));
    else h.monitor.recordSuccess();
    h.clock.advance(everyMs);
  }
}

const types = (h: Harness) => h.events.map((e) => e.type);

describe('writes outrank probes', () => {
  it('keeps an outage open when writes fail while the probe passes (a read-only database)', async () => {
    const clock = { now: null as Harness['clock'] | null };
    // A SELECT 1 that takes 150 ms: writes fail while it runs.
    const check = () => new Promise<void>((resolve) => clock.now!.setTimer(resolve, 150));
    const h = monitorHarness({ thresholdMs: 3_000, probe: { check, intervalMs: 500 } });
    clock.now = h.clock;
    for (let i = 0; i < 40; i += 1) {
      h.monitor.recordFailure(new Error('cannot execute INSERT in a read-only transaction'));
      h.clock.advance(100);
      await flush(2);
    }
    expect(types(h)).toEqual(['audit.storage.unreachable']);
    const alert = h.events[0] as StorageUnreachableEvent;
    expect(alert.unreachableDurationMs).toBe(3_000);
    expect(alert.lastError).toBe('Error: cannot execute INSERT in a read-only transaction');
  });

  it('alerts unreachable at the threshold when a quick read-only probe passes between failed writes', async () => {
    const h = monitorHarness({ thresholdMs: 3_000, probe: { check: async () => 'SELECT 1 ok', intervalMs: 500 } });
    for (let i = 0; i < 40; i += 1) {
      h.monitor.recordFailure(new Error('read-only'));
      h.clock.advance(100);
      await flush(2);
    }
    expect(types(h)).toEqual(['audit.storage.unreachable']);
    expect((h.events[0] as StorageUnreachableEvent).unreachableDurationMs).toBe(3_000);
  });

  it('writes failing every 300 ms, a SELECT 1 passing every second: unreachable at 5 s, never degraded only', async () => {
    let checks = 0;
    const check = async () => {
      checks += 1;
      return 'SELECT 1 ok';
    };
    const h = monitorHarness({ thresholdMs: 5_000, probe: { check, intervalMs: 1_000 } });
    const start = h.clock.wallNow();
    let alertedAt: number | null = null;
    for (let t = 0; t < 8_000; t += 300) {
      h.monitor.recordFailure(new Error('cannot execute INSERT in a read-only transaction'));
      for (let ms = 0; ms < 300; ms += 50) {
        h.clock.advance(50);
        await flush(2);
        if (alertedAt === null && h.events.length > 0) alertedAt = h.clock.wallNow() - start;
      }
    }
    // The probe ran and passed all along.
    expect(checks).toBeGreaterThanOrEqual(7);
    expect(h.monitor.getStatus().probeFailures).toBe(0);
    expect(types(h)).toEqual(['audit.storage.unreachable']);
    const alert = h.events[0] as StorageUnreachableEvent;
    // One outage from the first failed write: no passing probe reset the run.
    expect(alert.firstFailureAt).toEqual(new Date(start));
    expect(alert.unreachableDurationMs).toBe(5_000);
    expect(alert.consecutiveFailures).toBe(17);
    expect(alertedAt).toBe(5_000);
    expect(h.monitor.getStatus()).toMatchObject({ state: 'alerting', outageId: alert.outageId });
  });

  it('ends the outage on a passing probe once no write has failed since the check before it', async () => {
    const h = monitorHarness({ thresholdMs: 3_000, probe: { check: async () => undefined, intervalMs: 500 } });
    h.monitor.recordFailure('down');
    h.clock.advance(500);
    await flush(2);
    // The first check: a write failed since the previous one (there was none, so since the start).
    expect(h.monitor.getStatus().state).toBe('failing');
    h.clock.advance(500);
    await flush(2);
    // The second: no write has spoken since the first.
    expect(h.monitor.getStatus().state).toBe('healthy');
    expect(h.events).toHaveLength(0);
  });

  it('lets the probe end an alerted outage when the writes stop (all writers behind a guard)', async () => {
    const h = monitorHarness({ thresholdMs: 1_000, probe: { check: async () => undefined, intervalMs: 400 } });
    for (let i = 0; i < 5; i += 1) {
      h.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
      h.clock.advance(250);
      await flush(2);
    }
    expect(h.monitor.getStatus().state).toBe('alerting');
    // No write from here on: the next check after one with no failed write since ends the outage.
    for (let i = 0; i < 3; i += 1) {
      h.clock.advance(400);
      await flush(2);
    }
    expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(h.monitor.getStatus().state).toBe('healthy');
  });

  it('does not open or prolong an outage on a failing probe when a write succeeded while it ran', async () => {
    let settle!: (ok: boolean) => void;
    const check = () =>
      new Promise<void>((resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error('probe timeout')))));
    const h = monitorHarness({
      thresholdMs: 1_000,
      probe: { check, intervalMs: 100, timeoutMs: 60_000 },
      probeWhileHealthy: true,
    });
    h.monitor.start();
    h.clock.advance(100); // the check starts
    h.monitor.recordSuccess();
    settle(false);
    await flush(2);
    expect(h.monitor.getStatus().state).toBe('healthy');

    h.clock.advance(100); // the next check starts; no write speaks meanwhile
    settle(false);
    await flush(2);
    expect(h.monitor.getStatus()).toMatchObject({
      state: 'failing',
      consecutiveFailures: 0,
      eventsAffected: 0,
      probeFailures: 1,
      lastError: 'Error: probe timeout',
      lastProbeError: 'Error: probe timeout',
    });
  });
});

describe('audit.storage.degraded', () => {
  it('alerts when half of the writes fail, within two windows, with its figures', () => {
    const h = monitorHarness({ thresholdMs: 5_000 });
    writeFor(h, 10_000, 50, (n) => n % 2 === 0);
    expect(types(h)).toEqual(['audit.storage.degraded']);
    const event = h.events[0] as StorageDegradedEvent;
    expect(isStorageDegradedEvent(event)).toBe(true);
    expect(event).toMatchObject({ monitor: 'default', windowMs: 5_000, occurrence: 1 });
    expect(event.failureRatio).toBeGreaterThanOrEqual(0.5);
    expect(event.failures / event.writes).toBe(event.failureRatio);
    expect(event.writes).toBeGreaterThanOrEqual(90);
    expect(event.lastError).toMatch(/^Error: write \d+ refused$/);
    expect(h.monitor.getStatus()).toMatchObject({ state: 'degraded', outageId: event.outageId });
  });

  it('does not alert a new outage on the failures of one whose recovery was announced', () => {
    const h = monitorHarness({ thresholdMs: 1_000 });
    writeFor(h, 2_000, 100, () => true);
    h.monitor.recordSuccess();
    expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    // A write that failed just after the recovery (a straggler of the outage) is a failure of its own: the
    // window starts over at the recovery, so the twenty failures before it page nothing more.
    h.clock.advance(50);
    h.monitor.recordFailure(new Error('connection terminated'));
    writeFor(h, 2_000, 100, () => false);
    expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect(h.monitor.getStatus().state).toBe('healthy');
  });

  it('alerts at 95 % failing although every rare success ends the run of failures', () => {
    const h = monitorHarness();
    writeFor(h, 60_000, 100, (n) => n % 20 !== 19);
    expect(types(h)).toEqual(['audit.storage.degraded']);
  });

  it('does not alert on an isolated failure in a hundred writes', () => {
    const h = monitorHarness({ thresholdMs: 1_000 });
    writeFor(h, 120_000, 10, (n) => n % 100 === 37);
    expect(h.events).toHaveLength(0);
  });

  it('needs minWrites in the window', () => {
    const h = monitorHarness({ thresholdMs: 1_000, degraded: { minWrites: 50 } });
    writeFor(h, 20_000, 50, (n) => n % 2 === 0); // 20 writes a second
    expect(h.events).toHaveLength(0);
  });

  it('repeats per cooldown while degraded', () => {
    const h = monitorHarness({ thresholdMs: 2_000, cooldownMs: 4_000 });
    const at: number[] = [];
    for (let t = 0; t < 14_000; t += 50) {
      const before = h.events.length;
      writeFor(h, 50, 50, () => t % 100 === 0);
      if (h.events.length > before) at.push(t);
    }
    expect(types(h)).toEqual(['audit.storage.degraded', 'audit.storage.degraded', 'audit.storage.degraded']);
    expect(h.events.map((e) => (e as StorageDegradedEvent).occurrence)).toEqual([1, 2, 3]);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(4_000);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(4_000);
    expect(new Set(h.events.map((e) => (e as StorageDegradedEvent).outageId)).size).toBe(1);
  });

  it('escalates to unreachable under the same outageId, and recovers once the ratio stays low for a window', () => {
    const h = monitorHarness({ thresholdMs: 2_000, cooldownMs: 60_000 });
    writeFor(h, 5_000, 50, (n) => n % 2 === 0);
    expect(types(h)).toEqual(['audit.storage.degraded']);
    writeFor(h, 3_000, 50, () => true); // the storage stops entirely
    expect(types(h)).toEqual(['audit.storage.degraded', 'audit.storage.unreachable']);
    writeFor(h, 3_000, 50, (n) => n % 2 === 0); // partial again: still the same outage, still degraded
    expect(h.monitor.getStatus().state).toBe('degraded');
    writeFor(h, 1_900, 50, () => false);
    expect(h.monitor.getStatus().state).toBe('degraded');
    writeFor(h, 3_000, 50, () => false);
    expect(types(h)).toEqual(['audit.storage.degraded', 'audit.storage.unreachable', 'audit.storage.recovered']);
    const [degraded, unreachable, recovered] = h.events as [
      StorageDegradedEvent,
      StorageUnreachableEvent,
      StorageRecoveredEvent,
    ];
    expect(new Set(h.events.map((e) => (e as StorageDegradedEvent).outageId)).size).toBe(1);
    expect(unreachable.occurrence).toBe(1);
    expect(unreachable.firstFailureAt).toEqual(degraded.firstFailureAt);
    expect(recovered.outageStartedAt).toEqual(degraded.firstFailureAt);
    // Every failed write of the partial period, but those older than the window (counted to a tenth of it).
    expect(recovered.eventsAffected).toBeLessThanOrEqual(50 + 60 + 30);
    expect(recovered.eventsAffected).toBeGreaterThanOrEqual(50 + 60 + 30 - 2);
    expect(h.monitor.getStatus().state).toBe('healthy');
  });

  it('is off with degraded: false', () => {
    const h = monitorHarness({ thresholdMs: 1_000, degraded: false });
    writeFor(h, 20_000, 50, (n) => n % 20 !== 0);
    expect(h.events).toHaveLength(0);
  });

  it('rejects bad settings naming the path', () => {
    const bad: [unknown, string][] = [
      [{ ratio: 0 }, 'degraded.ratio'],
      [{ ratio: 1.5 }, 'degraded.ratio'],
      [{ minWrites: 0 }, 'degraded.minWrites'],
      [{ minWrites: 2.5 }, 'degraded.minWrites'],
      [{ windowMs: 5 }, 'degraded.windowMs'],
      [{ window: 5 }, 'degraded.window'],
      [true, 'degraded'],
    ];
    for (const [degraded, path] of bad) {
      let error: unknown;
      try {
        resolveAuditAlertOptions({ degraded });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as AuditAlertConfigError).option).toBe(path);
    }
  });

  it('derives the window from the threshold, at least 1 s, and lets a monitor override fields', () => {
    const resolved = resolveAuditAlertOptions({
      thresholdMs: 200,
      degraded: { ratio: 0.3 },
      monitors: [
        { name: 'a' },
        { name: 'b', thresholdMs: 20_000, degraded: { minWrites: 3 } },
        { name: 'c', degraded: false },
      ],
    });
    expect(resolved.monitors.map((m) => m.degraded)).toEqual([
      { ratio: 0.3, windowMs: 1_000, minWrites: 10 },
      { ratio: 0.3, windowMs: 20_000, minWrites: 3 },
      null,
    ]);
  });
});

describe('recoveryHoldMs', () => {
  it('turns a flapping storage into one outage and one recovery, showing the hold', () => {
    const h = monitorHarness({ thresholdMs: 1_000, cooldownMs: 60_000, recoveryHoldMs: 5_000 });
    for (let flap = 0; flap < 4; flap += 1) {
      writeFor(h, 3_000, 100, () => true);
      writeFor(h, 1_000, 100, () => false);
      if (flap < 3) expect(h.monitor.getStatus().state).toBe('recovering');
    }
    expect(types(h)).toEqual(['audit.storage.unreachable']);
    // The last failure was at 14.9 s: the hold ends at 19.9 s.
    h.clock.advance(3_899);
    expect(h.monitor.getStatus().state).toBe('recovering');
    h.clock.advance(1);
    expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    const recovered = h.events[1] as StorageRecoveredEvent;
    expect(recovered.outageId).toBe((h.events[0] as StorageUnreachableEvent).outageId);
    expect(recovered.eventsAffected).toBe(4 * 30);
    // Recovered as of the first success after the last failure.
    expect(recovered.outageDurationMs).toBe(15_000);
  });

  it('recovers on the first success with the default 0', () => {
    const h = monitorHarness({ thresholdMs: 1_000 });
    writeFor(h, 2_000, 100, () => true);
    h.monitor.recordSuccess();
    expect(types(h)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
  });
});

describe('the healthy success path', () => {
  it('reads no clock and arms no timer', () => {
    const h = monitorHarness();
    let reads = 0;
    const read = h.clock.monotonicNow.bind(h.clock);
    h.clock.monotonicNow = () => {
      reads += 1;
      return read();
    };
    for (let i = 0; i < 1_000; i += 1) h.monitor.recordSuccess();
    expect(reads).toBe(0);
    expect(h.clock.pendingTimers).toBe(0);
  });
});

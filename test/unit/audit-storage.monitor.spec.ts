import { describe, expect, it } from '@jest/globals';
import type { AuditStorageStatus, StorageRecoveredEvent, StorageUnreachableEvent } from '../../src/index.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';

const T = 30_000;

describe('AuditStorageMonitor state machine', () => {
  it('sends the first alert from the threshold timer although no further failure arrives', () => {
    const { clock, events, monitor } = monitorHarness();
    monitor.recordFailure(new Error('ECONNREFUSED'));
    clock.advance(T - 1);
    expect(events).toHaveLength(0);
    expect(monitor.getStatus().state).toBe('failing');
    clock.advance(1);
    expect(events).toHaveLength(1);
    const alert = events[0] as StorageUnreachableEvent;
    expect(alert).toMatchObject({
      type: 'audit.storage.unreachable',
      monitor: 'default',
      serviceName: 'unknown_service:node',
      consecutiveFailures: 1,
      unreachableDurationMs: T,
      lastError: 'Error: ECONNREFUSED',
      occurrence: 1,
    });
    expect(alert.firstFailureAt).toEqual(new Date(Date.UTC(2026, 0, 1, 12, 0, 0)));
    expect(alert.outageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(monitor.getStatus().state).toBe('alerting');
  });

  it('alerts on the failure that crosses the threshold when the timer has not fired yet', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000 });
    monitor.recordFailure('a');
    clock.stall(1_500);
    monitor.recordFailure('b');
    expect(events).toHaveLength(1);
    expect((events[0] as StorageUnreachableEvent).consecutiveFailures).toBe(2);
    clock.advance(0);
    expect(events).toHaveLength(1);
  });

  it('alerts on the first failure with thresholdMs 0', () => {
    const { events, monitor, clock } = monitorHarness({ thresholdMs: 0 });
    monitor.recordFailure('down');
    expect(events).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('repeats at most once per cooldown within one outage, counting occurrences', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000, cooldownMs: 10_000 });
    monitor.recordFailure('x');
    clock.advance(1_000);
    for (let i = 0; i < 30; i += 1) {
      clock.advance(1_000);
      monitor.recordFailure(`x${i}`);
    }
    // Alerts at 1 s (timer), then on failures at 11 s, 21 s, 31 s.
    const unreachable = events as StorageUnreachableEvent[];
    expect(unreachable.map((e) => e.occurrence)).toEqual([1, 2, 3, 4]);
    expect(unreachable.map((e) => e.unreachableDurationMs)).toEqual([1_000, 11_000, 21_000, 31_000]);
    expect(new Set(unreachable.map((e) => e.outageId)).size).toBe(1);
    expect(unreachable[3]!.consecutiveFailures).toBe(31);
  });

  it('does not repeat from the timer: repeats need a failure', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000, cooldownMs: 2_000 });
    monitor.recordFailure('x');
    clock.advance(60_000);
    expect(events).toHaveLength(1);
  });

  it('ends an outage silently when a success comes before the threshold', () => {
    const { clock, events, monitor } = monitorHarness();
    monitor.recordFailure('x');
    clock.advance(T / 2);
    monitor.recordSuccess();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(T * 2);
    expect(events).toHaveLength(0);
    const healthy: AuditStorageStatus = {
      monitor: 'default',
      state: 'healthy',
      outageId: null,
      firstFailureAt: null,
      consecutiveFailures: 0,
      eventsAffected: 0,
      lastError: null,
      lastAlertAt: null,
      probeFailures: 0,
      lastProbeError: null,
      // The degraded-detection window still holds the failure and the success.
      failureRatio: 0.5,
      pendingWrites: 0,
      rejectedRecords: 0,
      lastRejectedError: null,
    };
    expect(monitor.getStatus()).toEqual(healthy);
  });

  it('announces the recovery of an alerted outage with its figures', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000 });
    monitor.recordFailure('x');
    clock.advance(500);
    monitor.recordFailure('y');
    clock.advance(4_500);
    monitor.recordFailure('z');
    clock.advance(1_000);
    monitor.recordSuccess();
    const [alert, recovery] = events as [StorageUnreachableEvent, StorageRecoveredEvent];
    const expected: StorageRecoveredEvent = {
      type: 'audit.storage.recovered',
      outageId: alert.outageId,
      monitor: 'default',
      serviceName: 'unknown_service:node',
      outageStartedAt: alert.firstFailureAt,
      recoveredAt: new Date(alert.firstFailureAt.getTime() + 6_000),
      outageDurationMs: 6_000,
      writesFailed: 3,
      // No spool: what became of the records of the failed writes is not known here.
      recordsSpooled: null,
      recordsLost: null,
      eventsAffected: 3,
      unreachableAlerts: 1,
      degradedAlerts: 0,
    };
    expect(recovery).toEqual(expected);
  });

  it('sends no recovery with notifyRecovery false', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 0, notifyRecovery: false });
    monitor.recordFailure('x');
    clock.advance(10);
    monitor.recordSuccess();
    expect(events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('gives a new outage its own id, threshold and cooldown', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000, cooldownMs: 600_000 });
    monitor.recordFailure('x');
    clock.advance(1_000);
    monitor.recordSuccess();
    monitor.recordFailure('y');
    clock.advance(999);
    expect(events).toHaveLength(2);
    clock.advance(1);
    const [first, , second] = events as StorageUnreachableEvent[];
    expect(events.map((e) => e.type)).toEqual([
      'audit.storage.unreachable',
      'audit.storage.recovered',
      'audit.storage.unreachable',
    ]);
    expect(second!.outageId).not.toBe(first!.outageId);
    expect(second!.occurrence).toBe(1);
  });

  it('never alerts when disabled, yet keeps answering', async () => {
    const { clock, events, monitor } = monitorHarness({ enabled: false, thresholdMs: 0, cooldownMs: 1_000 });
    monitor.recordFailure('x');
    clock.advance(100_000);
    monitor.recordFailure('y');
    await expect(monitor.track(() => 42)).resolves.toBe(42);
    expect(events).toHaveLength(0);
    expect(monitor.getStatus().state).toBe('healthy');
    // The hung-write sweep armed by track() stops at its first sweep with nothing pending.
    clock.advance(1_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('measures durations on the monotonic clock, not the wall clock', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000 });
    monitor.recordFailure('x');
    clock.jumpWall(-3_600_000);
    clock.advance(1_000);
    expect((events[0] as StorageUnreachableEvent).unreachableDurationMs).toBe(1_000);
  });

  it('emits status$ on state changes only, after the call that caused them', async () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 1_000 });
    const states: string[] = [];
    monitor.status$.subscribe((s) => states.push(s.state));
    monitor.recordSuccess();
    monitor.recordFailure('a');
    monitor.recordFailure('b');
    clock.advance(1_000);
    monitor.recordFailure('c');
    monitor.recordSuccess();
    monitor.recordSuccess();
    expect(states).toEqual([]);
    await flush();
    expect(states).toEqual(['failing', 'alerting', 'healthy']);
  });

  it('reports the outage in getStatus()', () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 1_000 });
    monitor.recordFailure(new Error('first'));
    clock.advance(1_000);
    monitor.recordFailure(new Error('second'));
    const status = monitor.getStatus();
    expect(status).toMatchObject({
      state: 'alerting',
      consecutiveFailures: 2,
      eventsAffected: 2,
      lastError: 'Error: second',
    });
    expect(status.outageId).toEqual(expect.any(String));
    expect(status.lastAlertAt).toEqual(new Date(status.firstFailureAt!.getTime() + 1_000));
  });

  describe('track()', () => {
    it('resolves with the value of a function, a promise, or a sync throw as a rejection', async () => {
      const { monitor } = monitorHarness({ thresholdMs: 0 });
      await expect(monitor.track(() => 'sync')).resolves.toBe('sync');
      await expect(monitor.track(Promise.resolve('promise'))).resolves.toBe('promise');
      const boom = new Error('boom');
      await expect(
        monitor.track(() => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(monitor.getStatus().consecutiveFailures).toBe(1);
      await expect(monitor.track(Promise.reject('str'))).rejects.toBe('str');
      expect(monitor.getStatus().lastError).toBe('str');
      await expect(monitor.track(async () => 1)).resolves.toBe(1);
      expect(monitor.getStatus().state).toBe('healthy');
    });
  });

  it('recordFailure() never throws, whatever it is given', () => {
    const { monitor } = monitorHarness({ thresholdMs: 0, cooldownMs: 1_000 });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    const values: unknown[] = [undefined, null, 0, NaN, Symbol('s'), 10n, () => 1, hostile, Object.create(null)];
    for (const value of values) expect(() => monitor.recordFailure(value)).not.toThrow();
    expect(monitor.getStatus().consecutiveFailures).toBe(values.length);
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  AuditAlertConfigError,
  AuditAlertModule,
  AuditWriteTimeoutError,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { defaultWriteTimeoutMs } from '../../src/monitor/monitor.options.js';
import type { AuditAlertEvent, AuditStorageStatus } from '../../src/index.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';

/** A write that never settles until told to. */
function stuckWrite() {
  let settle!: { resolve: (value: string) => void; reject: (error: Error) => void };
  const promise = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, ...settle };
}

describe('hung writes', () => {
  it('counts a write pending past writeTimeoutMs as a failure that began when it started', async () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 5_000, writeTimeoutMs: 2_000 });
    const start = clock.wallNow();
    const write = stuckWrite();
    const tracked = monitor.track(write.promise);
    clock.advance(1_999);
    expect(monitor.getStatus().state).toBe('healthy');
    clock.advance(2_000 / 8 + 250);
    const status = monitor.getStatus();
    expect(status.state).toBe('failing');
    expect(status.firstFailureAt).toEqual(new Date(start));
    expect(status.consecutiveFailures).toBe(1);
    expect(status.lastError).toBe(
      'AuditWriteTimeoutError: 1 audit write did not complete within 2000 ms (writeTimeoutMs); still pending, not cancelled.',
    );
    // The threshold runs from the start of the write, not from its discovery.
    clock.advance(5_000 - clock.wallNow() + start - 1);
    expect(events).toHaveLength(0);
    clock.advance(1);
    expect(events).toHaveLength(1);
    expect((events[0] as StorageUnreachableEvent).unreachableDurationMs).toBe(5_000);

    // Not cancelled: its later outcome is recorded as usual.
    write.resolve('written');
    await expect(tracked).resolves.toBe('written');
    expect(events[1]).toMatchObject({ type: 'audit.storage.recovered', eventsAffected: 1 } as StorageRecoveredEvent);
  });

  it('never counts a write as hung before the limit, and finds it within 1.25 times the limit', () => {
    for (const startOffset of [0, 1, 124, 125, 200, 249]) {
      const { clock, monitor } = monitorHarness({ thresholdMs: 60_000, writeTimeoutMs: 1_000 });
      void monitor.track(stuckWrite().promise); // opens the generation and arms the sweep
      clock.advance(startOffset);
      void monitor.track(stuckWrite().promise);
      clock.advance(1_000 - 1);
      // Only writes started ≥ 1,000 ms ago may be hung by now.
      const early = monitor.getStatus();
      if (early.state !== 'healthy') expect(startOffset).toBeGreaterThan(0);
      clock.advance(250 + 1 - startOffset);
      const status = monitor.getStatus();
      expect(status.state).toBe('failing');
      expect(status.consecutiveFailures).toBe(2);
    }
  });

  it('records a hung write that fails later without counting it twice', async () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 60_000, writeTimeoutMs: 1_000 });
    const write = stuckWrite();
    const tracked = monitor.track(write.promise);
    clock.advance(1_250);
    expect(monitor.getStatus().consecutiveFailures).toBe(1);
    write.reject(new Error('connection reset'));
    await expect(tracked).rejects.toThrow('connection reset');
    expect(monitor.getStatus()).toMatchObject({ consecutiveFailures: 1, lastError: 'Error: connection reset' });
  });

  it('does not back-date a stuck write before a write that succeeded after it started', async () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 1_000, writeTimeoutMs: 1_000 });
    const start = clock.wallNow();
    void monitor.track(stuckWrite().promise);
    clock.advance(500);
    await monitor.track(Promise.resolve('fine'));
    clock.advance(1_000);
    const status = monitor.getStatus();
    // Counted, but as a failure that began after the storage last answered: not an outage past the threshold.
    expect(status.state).toBe('failing');
    // The first sweep after the success at 500 ms: the storage answered no later than that.
    expect(status.firstFailureAt).toEqual(new Date(start + 625));
  });

  it('does not back-date a stuck write before a success of an older write either', async () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 1_000, writeTimeoutMs: 1_000 });
    const start = clock.wallNow();
    const older = stuckWrite();
    void monitor.track(older.promise);
    clock.advance(300);
    void monitor.track(stuckWrite().promise); // a later generation, which stays stuck
    clock.advance(300);
    older.resolve('fine'); // the storage answers the older write at 600 ms
    await flush(1);
    clock.advance(1_000);
    expect(monitor.getStatus()).toMatchObject({ state: 'failing', firstFailureAt: new Date(start + 625) });
  });

  it('keeps one sweep timer however many writes are pending, and none when none is', async () => {
    const { clock, monitor } = monitorHarness({ writeTimeoutMs: 1_000 });
    const writes = Array.from({ length: 1_000 }, () => stuckWrite());
    const tracked = writes.map((w) => monitor.track(w.promise));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    writes.slice(0, 10).forEach((w) => monitor.track(w.promise));
    expect(clock.pendingTimers).toBe(1);
    writes.forEach((w) => w.resolve('ok'));
    await Promise.all(tracked);
    clock.advance(1_000);
    expect(clock.pendingTimers).toBe(0);
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('alerts a hung storage within the promised time with no option set', async () => {
    for (const thresholdMs of [30_000, 1_000, 5_000, 10_000]) {
      const { clock, events, monitor } = monitorHarness(thresholdMs === 30_000 ? {} : { thresholdMs });
      void monitor.track(stuckWrite().promise);
      const bound = thresholdMs === 30_000 ? thresholdMs + 10_000 : 2 * thresholdMs;
      clock.advance(bound);
      await flush(1);
      expect(events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);
    }
  });

  it('does nothing with writeTimeoutMs: false', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 0, writeTimeoutMs: false });
    void monitor.track(stuckWrite().promise);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(3_600_000);
    expect(events).toHaveLength(0);
  });

  it('exports the error with its limit and count', () => {
    const error = new AuditWriteTimeoutError(2_000, 3);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.timeoutMs, error.pendingWrites]).toEqual(['AuditWriteTimeoutError', 2_000, 3]);
    expect(error.message).toContain('3 audit writes did not complete within 2000 ms');
  });

  it('derives the default from the threshold, between 1 s and 10 s, per monitor', () => {
    expect([0, 500, 1_000, 5_000, 10_000, 30_000].map(defaultWriteTimeoutMs)).toEqual([
      1_000, 1_000, 1_000, 5_000, 10_000, 10_000,
    ]);
    const resolved = resolveAuditAlertOptions({
      thresholdMs: 2_000,
      monitors: [{ name: 'a' }, { name: 'b', thresholdMs: 4_000 }, { name: 'c', writeTimeoutMs: false }],
    });
    expect(resolved.monitors.map((m) => m.writeTimeoutMs)).toEqual([2_000, 4_000, false]);
    expect(
      resolveAuditAlertOptions({ writeTimeoutMs: 750, monitors: [{ name: 'a', thresholdMs: 9 }] }).monitors[0]!
        .writeTimeoutMs,
    ).toBe(750);
  });

  it('rejects a bad writeTimeoutMs at bootstrap, naming the path', () => {
    for (const bad of [0, -1, true, '5s', Number.NaN]) {
      expect(() => resolveAuditAlertOptions({ monitors: [{ name: 'a', writeTimeoutMs: bad as never }] })).toThrow(
        AuditAlertConfigError,
      );
    }
    expect(() => resolveAuditAlertOptions({ writeTimeoutMs: 0 })).toThrow(
      'Invalid audit alert option "writeTimeoutMs": received 0; expected false (no limit) or a finite number of milliseconds from 1 to 2147483647.',
    );
    expect(AuditAlertModule).toBeDefined();
  });
});

describe('a freeze that ends (SIGSTOP, then SIGCONT), with writes settling out of order', () => {
  /*
   * The storage freezes: every write started meanwhile hangs. The oldest are
   * found hung and the outage is paged; at the thaw the writes complete, in
   * some order, and the first success ends the outage. The writes of the last
   * moments of the freeze were not hung yet: some of them are still settling
   * when a sweep after the recovery finds them past the limit. They must not
   * open an outage dated before the recovery, and nothing more may be paged.
   */
  const THRESHOLD_MS = 1_000;
  const TIMEOUT_MS = 1_000; // sweeps every 125 ms
  const FREEZE_MS = 3_000;

  interface Shape {
    /** Which writes answer first at the thaw. */
    readonly order: 'newest first' | 'oldest first';
    /** The stragglers: some writes of the newest generation (the others answer), or all of it. */
    readonly stragglers: 'part of the last generation' | 'the whole last generation';
    /** Whether new writes keep coming (and succeeding) after the thaw. */
    readonly traffic: boolean;
  }

  async function freezeAndThaw(
    h: ReturnType<typeof monitorHarness>,
    shape: Shape,
  ): Promise<{ recoveredAt: number; statuses: AuditStorageStatus[] }> {
    const { clock, monitor } = h;
    const frozen: { started: number; write: ReturnType<typeof stuckWrite> }[] = [];
    // Three writes every 100 ms through the freeze: the first ones are found hung at 1.125 × the limit.
    for (let t = 0; t < FREEZE_MS; t += 100) {
      for (let i = 0; i < 3; i += 1) {
        const write = stuckWrite();
        monitor.track(write.promise).catch(() => undefined);
        frozen.push({ started: clock.monotonicNow(), write });
      }
      clock.advance(100);
      await flush(1);
    }
    expect(monitor.getStatus().state).toBe('alerting');
    // The writes of the last 100 ms, started at 2,900 ms, are one generation (the sweep ran at 2,875 ms).
    const lastGeneration = frozen.slice(-3);
    const stragglers = shape.stragglers === 'part of the last generation' ? lastGeneration.slice(1) : lastGeneration;
    const answering = frozen.filter((w) => !stragglers.includes(w));
    if (shape.order === 'newest first') answering.reverse();
    // The thaw: the first answer ends the outage, the others follow.
    answering[0]!.write.resolve('written');
    await flush(1);
    expect(monitor.getStatus().state).toBe('healthy');
    const recoveredAt = clock.wallNow();
    for (const { write } of answering.slice(1)) write.resolve('written');
    await flush(1);
    // Time passes in small steps: by the limit after the thaw, the sweeps have found the stragglers past it.
    const statuses: AuditStorageStatus[] = [];
    for (let step = 0; step < TIMEOUT_MS / 100; step += 1) {
      if (shape.traffic) await monitor.track(Promise.resolve('a new write'));
      clock.advance(100);
      await flush(1);
      statuses.push(monitor.getStatus());
    }
    expect(monitor.getStatus().pendingWrites).toBe(stragglers.length);
    // Then they complete, a few milliseconds later.
    clock.advance(20);
    for (const { write } of stragglers) write.resolve('written');
    await flush(1);
    clock.advance(5_000);
    await flush(1);
    expect(monitor.getStatus().state).toBe('healthy');
    return { recoveredAt, statuses };
  }

  const shapes: Shape[] = [];
  for (const order of ['newest first', 'oldest first'] as const) {
    for (const stragglers of ['part of the last generation', 'the whole last generation'] as const) {
      shapes.push({ order, stragglers, traffic: false });
    }
  }
  shapes.push({ order: 'oldest first', stragglers: 'part of the last generation', traffic: true });

  it.each(shapes)(
    'pages each of four freezes once and resolves it once ($order; stragglers: $stragglers; traffic after: $traffic)',
    async (shape) => {
      const h = monitorHarness({ thresholdMs: THRESHOLD_MS, writeTimeoutMs: TIMEOUT_MS });
      for (let round = 0; round < 4; round += 1) {
        const before = h.events.length;
        const { recoveredAt, statuses } = await freezeAndThaw(h, shape);
        const events = h.events.slice(before) as (AuditAlertEvent & { outageId: string })[];
        expect(events.map((e) => e.type)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
        expect(events[1]!.outageId).toBe(events[0]!.outageId);
        expect((events[1] as StorageRecoveredEvent).recoveredAt.getTime()).toBe(recoveredAt);
        // A straggler still counts as a failure (it hung past the limit), but never dated before the recovery.
        if (!shape.traffic) expect(statuses.some((status) => status.state === 'failing')).toBe(true);
        for (const status of statuses) {
          if (status.firstFailureAt === null) continue;
          expect(status.state).toBe('failing');
          expect(status.firstFailureAt.getTime()).toBeGreaterThan(recoveredAt);
        }
      }
    },
  );
});

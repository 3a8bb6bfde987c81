import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AuditOutageEvent, StorageRecoveredEvent, StorageUnreachableEvent } from '../../src/index.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';

type Command = { kind: 'fail' } | { kind: 'succeed' } | { kind: 'advance'; ms: number };

interface Config {
  thresholdMs: number;
  cooldownMs: number;
  notifyRecovery: boolean;
}

/** What DESIGN.md promises, written as plainly as possible: the expected events, in order. */
function referenceModel(config: Config, commands: Command[]) {
  const expected: { type: string; outage: number; occurrence?: number; failures: number; at: number }[] = [];
  let now = 0;
  let outage = 0;
  let state = 'healthy' as 'healthy' | 'failing' | 'alerting';
  let start = 0;
  let failures = 0;
  let lastAlert = 0;
  let occurrence = 0;
  const alert = (at: number) => {
    state = 'alerting';
    lastAlert = at;
    occurrence += 1;
    expected.push({ type: 'audit.storage.unreachable', outage, occurrence, failures, at: at - start });
  };
  for (const command of commands) {
    if (command.kind === 'advance') {
      if (state === 'failing' && start + config.thresholdMs <= now + command.ms) alert(start + config.thresholdMs);
      now += command.ms;
    } else if (command.kind === 'fail') {
      if (state === 'healthy') {
        outage += 1;
        state = 'failing';
        start = now;
        failures = 0;
        occurrence = 0;
      }
      failures += 1;
      if (state === 'failing' && now - start >= config.thresholdMs) alert(now);
      else if ((state as string) === 'alerting' && now - lastAlert >= config.cooldownMs) alert(now);
    } else {
      if ((state as string) === 'alerting' && config.notifyRecovery) {
        expected.push({ type: 'audit.storage.recovered', outage, failures, at: now - start });
      }
      state = 'healthy';
    }
  }
  return expected;
}

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Command>({ kind: 'fail' }) },
  { weight: 2, arbitrary: fc.constant<Command>({ kind: 'succeed' }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3_000 }).map<Command>((ms) => ({ kind: 'advance', ms })) },
);

const configArb = fc.record({
  thresholdMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 })),
  cooldownMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
  notifyRecovery: fc.boolean(),
});

function run(config: Config, commands: Command[]): AuditOutageEvent[] {
  const { clock, events, monitor } = monitorHarness(config);
  for (const command of commands) {
    if (command.kind === 'fail') monitor.recordFailure(new Error('down'));
    else if (command.kind === 'succeed') monitor.recordSuccess();
    else clock.advance(command.ms);
  }
  // A monitor raises the events of its outages only; test alerts come from the registry.
  return events as AuditOutageEvent[];
}

describe('FailureTracker against a reference model', () => {
  it('produces exactly the events of the model for thousands of random sequences', () => {
    fc.assert(
      fc.property(configArb, fc.array(commandArb, { maxLength: 120 }), (config, commands) => {
        const events = run(config, commands);
        const ids = new Map<number, string>();
        const model = referenceModel(config, commands);
        expect(events.map((e) => e.type)).toEqual(model.map((m) => m.type));
        events.forEach((event, i) => {
          const m = model[i]!;
          // One outageId per model outage, and a different one for each outage.
          const id = ids.get(m.outage) ?? event.outageId;
          ids.set(m.outage, id);
          expect(event.outageId).toBe(id);
          if (event.type === 'audit.storage.unreachable') {
            expect([event.occurrence, event.consecutiveFailures, event.unreachableDurationMs]).toEqual([
              m.occurrence,
              m.failures,
              m.at,
            ]);
          } else if (event.type === 'audit.storage.recovered') {
            expect([event.eventsAffected, event.outageDurationMs]).toEqual([m.failures, m.at]);
          }
        });
        expect(new Set(ids.values()).size).toBe(ids.size);
      }),
      { numRuns: 3_000 },
    );
  });

  it('holds the invariants of DESIGN.md for every random sequence', () => {
    fc.assert(
      fc.property(configArb, fc.array(commandArb, { maxLength: 120 }), (config, commands) => {
        const { clock, events, monitor } = monitorHarness(config);
        let failuresInOutage = 0;
        let outageStart = 0;
        const alertTimes = new Map<string, number[]>();
        const recovered = new Set<string>();
        for (const command of commands) {
          const before = events.length;
          if (command.kind === 'fail') {
            if (monitor.getStatus().state === 'healthy') {
              failuresInOutage = 0;
              outageStart = clock.monotonicNow();
            }
            failuresInOutage += 1;
            monitor.recordFailure('x');
          } else if (command.kind === 'succeed') {
            monitor.recordSuccess();
          } else {
            clock.advance(command.ms);
          }
          for (const event of events.slice(before)) {
            if (event.type === 'audit.storage.unreachable') {
              const e = event as StorageUnreachableEvent;
              const times = alertTimes.get(e.outageId) ?? [];
              // One first alert per outage; later ones are numbered repeats.
              expect(e.occurrence).toBe(times.length + 1);
              expect(recovered.has(e.outageId)).toBe(false);
              // At most one alert per cooldown window; the first one no sooner than the threshold.
              const at = outageStart + e.unreachableDurationMs;
              if (times.length > 0) expect(at - times.at(-1)!).toBeGreaterThanOrEqual(config.cooldownMs);
              else expect(e.unreachableDurationMs).toBeGreaterThanOrEqual(config.thresholdMs);
              times.push(at);
              alertTimes.set(e.outageId, times);
            } else {
              const e = event as StorageRecoveredEvent;
              // Recovery only after an alert, with the same outageId, once.
              expect(alertTimes.has(e.outageId)).toBe(true);
              expect(recovered.has(e.outageId)).toBe(false);
              expect(e.eventsAffected).toBe(failuresInOutage);
              recovered.add(e.outageId);
            }
          }
        }
        if (!config.notifyRecovery) expect(recovered.size).toBe(0);
      }),
      { numRuns: 3_000 },
    );
  });
});

type WriteCommand =
  { kind: 'start' } | { kind: 'settle'; index: number; ok: boolean } | { kind: 'advance'; ms: number };

const writeCommandArb: fc.Arbitrary<WriteCommand> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<WriteCommand>({ kind: 'start' }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ index: fc.nat(), ok: fc.boolean() })
      .map<WriteCommand>(({ index, ok }) => ({ kind: 'settle', index, ok })),
  },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 800 }).map<WriteCommand>((ms) => ({ kind: 'advance', ms })) },
);

describe('hung writes against their bounds', () => {
  it('finds every stuck write between the limit and 1.25 times it, with one sweep timer at most', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8, max: 2_000 }),
        fc.array(writeCommandArb, { maxLength: 80 }),
        async (writeTimeoutMs, commands) => {
          const sweep = Math.ceil(writeTimeoutMs / 8);
          const { clock, monitor } = monitorHarness({ thresholdMs: 1_000_000, writeTimeoutMs });
          const writes: { started: number; settle: (ok: boolean) => void; done: boolean }[] = [];
          let lastSuccessAt = Number.NEGATIVE_INFINITY;
          let anyFailure = false;
          for (const command of commands) {
            if (command.kind === 'start') {
              let settle!: (ok: boolean) => void;
              const promise = new Promise<void>((resolve, reject) => {
                settle = (ok) => (ok ? resolve() : reject(new Error('refused')));
              });
              monitor.track(promise).catch(() => undefined);
              writes.push({ started: clock.monotonicNow(), settle, done: false });
            } else if (command.kind === 'settle') {
              const open = writes.filter((w) => !w.done);
              const write = open[command.index % Math.max(open.length, 1)];
              if (!write) continue;
              write.done = true;
              write.settle(command.ok);
              await flush(1);
              if (command.ok) lastSuccessAt = clock.monotonicNow();
              else anyFailure = true;
            } else {
              clock.advance(command.ms);
            }
            const now = clock.monotonicNow();
            const state = monitor.getStatus().state;
            // No timer per write: the sweep and the threshold at most.
            expect(clock.pendingTimers).toBeLessThanOrEqual(2);
            const stuck = writes.filter((w) => !w.done);
            // Never early: an outage with no failed write needs a write pending past the limit.
            if (state !== 'healthy' && !anyFailure) {
              const longest = Math.max(...writes.map((w) => (w.done ? 0 : now - w.started)), 0);
              const settledLate = writes.some((w) => w.done);
              if (!settledLate) expect(longest).toBeGreaterThanOrEqual(writeTimeoutMs);
            }
            // Never late: past the limit and two sweeps, a write is counted; only a success since its start ends that.
            const overdue = stuck.filter((w) => now - w.started >= writeTimeoutMs + 2 * sweep);
            if (overdue.some((w) => w.started > lastSuccessAt)) expect(state).not.toBe('healthy');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

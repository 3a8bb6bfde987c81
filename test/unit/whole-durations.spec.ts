import { describe, expect, it } from '@jest/globals';
import type { AuditAlertEvent } from '../../src/index.js';
import { monitorHarness } from '../support/monitor-harness.js';

/*
 * Durations in events are whole milliseconds, from every path, whatever the
 * fractions of the clock (`performance.now()` has them) or of an option.
 * The tracker's outage events are held to it by the property model test; the
 * cluster's recovery in test/cluster/cluster.spec.ts; the builder of the
 * recovery in test/channels/channel-bodies.spec.ts; these are the others.
 */

/** Every field of `event` that holds a duration (its name ends in `Ms`), with its value. */
function durations(event: AuditAlertEvent): [string, unknown][] {
  return Object.entries(event).filter(([key]) => key.endsWith('Ms'));
}

describe('durations in events are whole milliseconds', () => {
  it('in audit.records.rejected, on a clock with fractions', () => {
    const { clock, events, monitor } = monitorHarness({ thresholdMs: 1_000, classify: () => 'record' });
    clock.advance(0.37);
    monitor.recordFailure(new Error('null value in column "actor" violates not-null constraint'));
    clock.advance(1_000.4);
    monitor.recordFailure(new Error('null value in column "actor" violates not-null constraint'));
    expect(events).toEqual([expect.objectContaining({ type: 'audit.records.rejected', rejectedDurationMs: 1_000 })]);
    for (const [, value] of durations(events[0]!)) expect(Number.isInteger(value)).toBe(true);
  });

  it('in audit.storage.degraded, with a window of a fractional length', () => {
    const { clock, events, monitor } = monitorHarness({
      thresholdMs: 60_000,
      degraded: { ratio: 0.5, windowMs: 1_500.6, minWrites: 4 },
    });
    // Half the writes fail, for longer than a window.
    for (let n = 0; n < 20; n += 1) {
      clock.advance(100.25);
      monitor.recordFailure(new Error('connect ECONNREFUSED'));
      monitor.recordSuccess();
    }
    const degraded = events.find((e) => e.type === 'audit.storage.degraded')!;
    expect(degraded).toMatchObject({ windowMs: 1_501 });
    for (const [, value] of durations(degraded)) expect(Number.isInteger(value)).toBe(true);
  });
});

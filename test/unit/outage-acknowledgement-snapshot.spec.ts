import { describe, expect, it } from '@jest/globals';
import { invalidOutageSnapshot } from '../../src/tracker/outage-snapshot.js';

const saved = {
  outageId: '6f1c2a1e-8a3b-4c55-9d7e-2b7f0c1d9e42',
  state: 'alerting',
  firstFailureAt: 1_767_268_800_000,
  lastFailureAt: 1_767_268_860_000,
  eventsAffected: 3,
  probeFailures: 0,
  consecutiveFailures: 3,
  streakStartedAt: 1_767_268_800_000,
  unreachableOccurrence: 1,
  lastUnreachableAt: 1_767_268_830_000,
  degradedOccurrence: 0,
  lastDegradedAt: null,
  lastAlertAt: 1_767_268_830_000,
  lastError: 'Error: connect ECONNREFUSED',
  lastProbeError: null,
};

describe('the acknowledgement in a saved outage', () => {
  it('is optional, so that files written before it load', () => {
    expect(invalidOutageSnapshot(saved)).toBeNull();
    expect(invalidOutageSnapshot({ ...saved, acknowledged: null })).toBeNull();
    expect(
      invalidOutageSnapshot({ ...saved, acknowledged: { by: 'ana', note: null, at: 1_767_268_840_000 } }),
    ).toBeNull();
  });

  it('is refused, naming the field, when it is not who, what and when within their bounds', () => {
    for (const acknowledged of [
      'ana',
      { by: '', note: null, at: 1 },
      { by: 'x'.repeat(201), note: null, at: 1 },
      { by: 'ana', note: 'x'.repeat(1_001), at: 1 },
      { by: 'ana', note: null, at: -1 },
      { by: 'ana', at: 1 },
    ]) {
      expect(invalidOutageSnapshot({ ...saved, acknowledged })).toBe('field acknowledged is invalid');
    }
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../channels/support/http-receiver.js';
import { monitorHarness } from '../support/monitor-harness.js';

/*
 * A record whose write failed just before the storage was found working again
 * reaches the spool's disk after the outage has ended: it is replayed then,
 * not left waiting for the next outage's recovery (nor a restart).
 */

describe('a record kept after its outage ended', () => {
  let directory: string;

  afterEach(async () => {
    // The replay may still be writing its progress as the test ends.
    await rm(directory, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  });

  it('is replayed once it is on disk, while the storage is healthy', async () => {
    directory = await mkdtemp(join(tmpdir(), 'audit-spool-late-'));
    const replayed: unknown[] = [];
    const { monitor } = monitorHarness({
      spool: { directory, replay: (record) => void replayed.push(record) },
    });
    monitor.start();
    await waitFor(() => monitor.spool!.healthy, 'the spool to open');

    const kept = monitor.track(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')), {
      record: { action: 'late' },
      id: 'late-1',
    });
    // The failure is recorded a few microtasks later; the success comes before its record is on disk (file I/O).
    for (let turn = 0; monitor.getStatus().state !== 'failing'; turn += 1) {
      if (turn > 100) throw new Error('the failure was never recorded');
      await Promise.resolve();
    }
    monitor.recordSuccess();
    expect(monitor.getStatus().state).toBe('healthy');
    await expect(kept).resolves.toBeUndefined();

    await waitFor(() => replayed.length === 1, 'the late record to be replayed');
    expect(replayed).toEqual([{ action: 'late' }]);
    await waitFor(() => monitor.spool!.pending === 0, 'the replay to be recorded');
    monitor.close();
  });
});

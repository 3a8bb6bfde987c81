import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { AuditAlertEvent } from '../../src/index.js';
import { io, quarantined, spoolHarness, type SpoolHarness, Storage, THRESHOLD_MS } from './spool-harness.js';

/*
 * The spool's promise as a property: whatever the sequence of writes (stored,
 * or spooled during an outage), crashes (the process gone mid-append, leaving
 * any prefix of a line; or mid-replay), a disk that fills up and empties again
 * (a real tmpfs at ENOSPC, hitting the data, the head, the state or the
 * quarantine at whatever point the sizes make it), and records the storage
 * refuses for good: every record whose track() resolved ends up in the
 * storage or in the quarantine file, reported by an event; every other
 * record's track() rejected (named lost); and no record is stored under an id
 * other than the one its caller gave.
 */

type Op =
  | { readonly kind: 'write'; readonly up: boolean; readonly size: number }
  | { readonly kind: 'fill' }
  | { readonly kind: 'free' }
  | { readonly kind: 'crash'; readonly partial: number }
  | { readonly kind: 'poison'; readonly which: number }
  | { readonly kind: 'tick'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      up: fc.boolean(),
      size: fc.integer({ min: 0, max: 3_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'fill' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'free' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), partial: fc.integer({ min: 0, max: 120 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('poison' as const), which: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 10, max: 3_000 }) }) },
);

/** A line as a process killed mid-append leaves it: any prefix, without its line end. */
const PARTIAL_LINE =
  '{"seq":999,"id":"p-999","at":"2026-01-01T12:00:00.000Z","record":{"n":999},"prev":"00000","hash":"1111"}';

describe('the spool, as a property (fast-check, fixed seed)', () => {
  let root: string;
  let mounted = false;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'audit-spool-property-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', root], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // Not root: the disk never fills, the rest of the property holds as it is.
      console.warn('spool-property: cannot mount a tmpfs here (not root?); runs without ENOSPC');
    }
  });

  afterAll(async () => {
    if (mounted) execFileSync('umount', [root]);
    await rm(root, { recursive: true, force: true });
  });

  it("every acknowledged record is stored or quarantined with a report; the others are named lost; ids are the callers'", async () => {
    let run = 0;
    // What the runs went through, so that the property is known to have met each fault.
    const met = { enospc: 0, quarantined: 0, lost: 0, crashes: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        run += 1;
        const directory = join(root, `run-${run}`);
        await mkdir(directory);
        const filler = join(root, `filler-${run}`);
        const storage = new Storage();
        const poisoned = new Set<string>();
        storage.refuse = (id) => (poisoned.has(id) ? new Error(`row ${id} violates check constraint`) : null);
        const events: AuditAlertEvent[] = [];
        const acked = new Set<string>();
        const lost = new Set<string>();
        const spooled: string[] = [];
        let h: SpoolHarness = await spoolHarness({ directory, segmentBytes: 4_096 }, {}, storage);
        // Every run of the process: one closed by a crash may still finish the report it was sending.
        const runs = [h];
        let n = 0;
        const collect = (): void => {
          for (const harness of runs) {
            events.push(...harness.events);
            harness.events.length = 0;
          }
        };
        try {
          for (const step of ops) {
            switch (step.kind) {
              case 'write': {
                n += 1;
                const id = `p-${n}`;
                const record = { n, padding: 'x'.repeat(step.size) };
                storage.mode = step.up ? 'up' : 'down';
                if (!step.up) h.clock.advance(THRESHOLD_MS / 4);
                await h.monitor
                  .track(() => storage.insert(record, id), { record, id })
                  .then(
                    () => acked.add(id),
                    () => lost.add(id),
                  );
                if (!step.up && acked.has(id)) spooled.push(id);
                break;
              }
              case 'fill':
                if (mounted) fill(filler);
                break;
              case 'free':
                rmSync(filler, { force: true });
                break;
              case 'crash': {
                h.monitor.close();
                await io(5);
                const segments = (await readdir(h.dir).catch(() => [])).filter((s) => s.startsWith('segment-')).sort();
                const newest = segments.at(-1);
                if (newest)
                  await appendFile(join(h.dir, newest), PARTIAL_LINE.slice(0, step.partial)).catch(() => undefined);
                h = await spoolHarness({ directory, segmentBytes: 4_096 }, {}, storage);
                runs.push(h);
                break;
              }
              case 'poison':
                if (spooled.length > 0) poisoned.add(spooled[step.which % spooled.length]!);
                break;
              case 'tick':
                await io();
                h.clock.advance(step.ms);
                await io();
                break;
            }
          }
          // The disk empties, the storage comes back for good: everything drains.
          rmSync(filler, { force: true });
          storage.mode = 'up';
          for (
            let i = 0;
            i < 400 &&
            (h.monitor.spool!.pending > 0 || !h.monitor.spool!.healthy || h.monitor.getStatus().state !== 'healthy');
            i += 1
          ) {
            n += 1;
            const id = `p-${n}`;
            await h.monitor.track(() => storage.insert({ n }, id), { record: { n }, id }).then(() => acked.add(id));
            await io(3);
            h.clock.advance(1_000);
          }
          await io(10);
          collect();
          expect(h.monitor.spool!.pending).toBe(0);

          const stored = new Set(storage.rows.map((r) => r.id));
          const inQuarantine = (await quarantined(h.dir)).flatMap((l) => (typeof l.id === 'string' ? [l.id] : []));
          // Every acknowledged record: stored, or set aside and reported.
          expect([...acked].filter((id) => !stored.has(id) && !inQuarantine.includes(id))).toEqual([]);
          const reported = events
            .filter((e) => e.type === 'audit.spool.quarantined')
            .reduce((sum, e) => sum + (e as { recordsQuarantined: number }).recordsQuarantined, 0);
          expect(reported).toBeGreaterThanOrEqual(inQuarantine.length);
          // Only records the storage refused for good are set aside.
          expect(inQuarantine.filter((id) => !poisoned.has(id))).toEqual([]);
          // No record in the storage under an id other than its caller's.
          for (const row of storage.rows) expect(row.id).toBe(`p-${(row.record as { n: number }).n}`);
          // What was not acknowledged was named lost, and nothing else was.
          expect([...lost].filter((id) => acked.has(id))).toEqual([]);
          expect(acked.size + lost.size).toBe(n);
          if (
            events.some(
              (e) => e.type === 'audit.spool.unwritable' && /ENOSPC/.test((e as { lastError: string }).lastError),
            )
          )
            met.enospc += 1;
          if (inQuarantine.length > 0) met.quarantined += 1;
          if (lost.size > 0) met.lost += 1;
          if (ops.some((o) => o.kind === 'crash')) met.crashes += 1;
        } finally {
          h.monitor.close();
          rmSync(filler, { force: true });
          await io(5);
          await rm(directory, { recursive: true, force: true });
        }
      }),
      { seed: 20_260_101, numRuns: 25, endOnFailure: true },
    );
    expect(met.crashes).toBeGreaterThan(0);
    expect(met.quarantined).toBeGreaterThan(0);
    if (mounted) expect(met.enospc).toBeGreaterThan(0);
    console.log(`spool-property: ${run} runs; ${JSON.stringify(met)}`);
  }, 120_000);
});

/** Fills the file system of `path` until it refuses a single byte more. */
function fill(path: string): void {
  for (const chunk of [Buffer.alloc(4_096, 120), Buffer.alloc(1, 120)]) {
    try {
      for (;;) appendFileSync(path, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
}

import { afterEach, describe, expect, it } from '@jest/globals';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAuditSpool } from '../../src/index.js';
import { AuditLedger } from '../../src/ledger/audit-ledger.writer.js';
import type {
  AuditLedgerWriter,
  LedgerRecord,
  LedgerSpoolHeadRecord,
} from '../../src/ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../../src/ledger/ledger-reader.js';
import { ManualClock } from '../support/manual-clock.js';
import {
  advanceUntil,
  io,
  recoverAndDrain,
  type SpoolHarness,
  spoolHarness,
  spooledLines,
  Storage,
  THRESHOLD_MS,
} from './spool-harness.js';

/*
 * The spool's head recorded in the evidence ledger, and verifyAuditSpool()
 * checking the spool against it: real spool files, the real ledger writer,
 * the monitor on a manual clock. The forgeries are those head.json alone
 * cannot show: records cut off the end with head.json rewritten (or an older
 * one put back), and records removed as if replayed.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The ledger as the spool sees it, in a process that can die: once dead,
 * nothing more reaches the ledger's disk, and what waits for it waits forever.
 */
class MortalLedger implements AuditLedgerWriter {
  dead = false;
  /** Records waiting, with their answer held back, while the ledger's disk is slow: `null` when it is not. */
  held: (() => void)[] | null = null;
  constructor(private readonly ledger: AuditLedger) {}
  append(record: LedgerRecord): void {
    if (!this.dead) this.ledger.append(record);
  }
  appendSynced(record: LedgerRecord): Promise<boolean> {
    if (this.dead) return new Promise(() => undefined);
    const { held } = this;
    if (held === null) return this.ledger.appendSynced(record);
    return new Promise((resolve) => held.push(() => void this.ledger.appendSynced(record).then(resolve)));
  }
}

interface Rig {
  readonly root: string;
  readonly ledgerDir: string;
  readonly ledger: AuditLedger;
  readonly h: SpoolHarness;
  /** The process is dying: nothing more reaches the ledger's disk. */
  dying(): void;
  /** The ledger as the spool sees it. */
  readonly writer: MortalLedger;
  /** Kills the process where it stands: the ledger gets nothing more; the monitor stops without a word. */
  crash(): Promise<void>;
}

/** A process: its monitor with a spool under `root/spool`, and its ledger in `root/ledger`. */
async function boot(root?: string, withLedger = true, storage = new Storage()): Promise<Rig> {
  const base = root ?? (await mkdtemp(join(tmpdir(), 'audit-spool-ledger-')));
  if (root === undefined) cleanups.push(() => rm(base, { recursive: true, force: true }));
  await mkdir(join(base, 'spool'), { recursive: true });
  const ledgerDir = join(base, 'ledger');
  const ledger = new AuditLedger({ directory: ledgerDir, retentionDays: 400 }, 'billing-api', new ManualClock(), 1_000);
  const mortal = new MortalLedger(ledger);
  if (withLedger) await ledger.open();
  const h = await spoolHarness({ directory: join(base, 'spool') }, {}, storage, undefined, withLedger ? mortal : null);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    h.monitor.close();
    if (withLedger) await ledger.close(1_000);
  };
  cleanups.push(close);
  const crash = async (): Promise<void> => {
    mortal.dead = true;
    // What the ledger had on disk stays; its lock goes with the process.
    await ledger.close(0);
    h.monitor.close();
    await io(20);
  };
  return { root: base, ledgerDir, ledger, h, crash, dying: () => (mortal.dead = true), writer: mortal };
}

/** Shuts the process down as the module does: the monitors, then the ledger, written out. */
async function shutdown(rig: Rig): Promise<void> {
  rig.h.monitor.close();
  await io(10);
  await rig.ledger.close(1_000);
}

/** The spool-head records of the ledger, in order, without the ledger's framing. */
async function spoolHeads(directory: string): Promise<LedgerSpoolHeadRecord[]> {
  const heads: LedgerSpoolHeadRecord[] = [];
  for await (const { entry } of readLedgerLines(directory)) {
    if (entry?.kind !== 'spool-head') continue;
    const { kind, monitor, headSeq, headHash, replayedSeq } = entry;
    heads.push({ kind, monitor, headSeq, headHash, replayedSeq });
  }
  return heads;
}

/** Spools records `from` to `to` during an outage, each write settled once its record is on disk. */
async function spool(h: SpoolHarness, from: number, to: number): Promise<void> {
  h.storage.mode = 'down';
  for (let n = from; n <= to; n += 1) await h.write(n);
}

async function segmentOf(dir: string): Promise<{ path: string; name: string; lines: string[] }> {
  const [name] = (await readdir(dir)).filter((n) => n.startsWith('segment-'));
  const path = join(dir, name!);
  return { path, name: name!, lines: (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '') };
}

const hashOf = (line: string): string => (JSON.parse(line) as { hash: string }).hash;

describe('the spool head in the evidence ledger', () => {
  it('records nothing while healthy, and one head per group of records fsync’d together', async () => {
    const { h, ledger, ledgerDir } = await boot();
    for (let n = 1; n <= 20; n += 1) await h.write(n);
    await ledger.flushed();
    expect(await spoolHeads(ledgerDir)).toEqual([]);

    h.storage.mode = 'down';
    // Five writes failing in one turn: the spool writes the first alone, the four waiting behind it together.
    await Promise.all([21, 22, 23, 24, 25].map((n) => h.write(n)));
    await ledger.flushed();
    const heads = await spoolHeads(ledgerDir);
    const lines = await spooledLines(h.dir);
    expect(heads).toEqual([
      { kind: 'spool-head', monitor: 'default', headSeq: 1, headHash: lines[0]!.hash, replayedSeq: 0 },
      { kind: 'spool-head', monitor: 'default', headSeq: 5, headHash: lines[4]!.hash, replayedSeq: 0 },
    ]);
  });

  it('catches records cut off the end with head.json rewritten to match, which head.json alone cannot', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 5);
    await shutdown(rig);
    const { path, lines } = await segmentOf(rig.h.dir);
    // The forgery: the segment cut after record 3, head.json naming record 3, every hash as the spool made it.
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n`);
    await writeFile(join(rig.h.dir, 'head.json'), JSON.stringify({ seq: 3, hash: hashOf(lines[2]!) }));

    expect(await verifyAuditSpool(rig.h.dir)).toEqual({ ok: true, records: 3, lastSeq: 3, problems: [] });
    const checked = await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir });
    expect(checked.ok).toBe(false);
    const { file, line } = checked.ledgerHead!;
    expect(checked.problems).toEqual([
      `the ledger (${file} line ${line}) records the spool's head at record 5, but the spool ends at record 3: records 4 to 5 were removed.`,
    ]);
  });

  it('catches an older head.json put back after records were removed', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 3);
    const older = await readFile(join(rig.h.dir, 'head.json'), 'utf8');
    await spool(rig.h, 4, 6);
    await shutdown(rig);
    const { path, lines } = await segmentOf(rig.h.dir);
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n`);
    await writeFile(join(rig.h.dir, 'head.json'), older);

    expect(await verifyAuditSpool(rig.h.dir)).toMatchObject({ ok: true, records: 3 });
    const checked = await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir });
    expect(checked.problems).toEqual([
      expect.stringMatching(/records the spool's head at record 6, but the spool ends at record 3: records 4 to 6/),
    ]);
  });

  it('catches a record rewritten with its chain recomputed, past the head the ledger names', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 3);
    await shutdown(rig);
    const { path, lines } = await segmentOf(rig.h.dir);
    // Record 3 replaced by another with a consistent chain and head.json: an unkeyed spool cannot show it.
    const { spoolLineHash } = await import('../../src/spool/spool-chain.js');
    const third = JSON.parse(lines[2]!) as { seq: number; id: string; at: string; record: unknown; prev: string };
    const forged = { ...third, record: { action: 'view', n: 3 } };
    const hash = spoolLineHash(forged, forged.prev);
    await writeFile(path, `${[lines[0], lines[1], JSON.stringify({ ...forged, hash })].join('\n')}\n`);
    await writeFile(join(rig.h.dir, 'head.json'), JSON.stringify({ seq: 3, hash }));

    expect(await verifyAuditSpool(rig.h.dir)).toMatchObject({ ok: true });
    expect((await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir })).problems).toEqual([
      expect.stringMatching(
        /records record 3 with another hash than segment-\S+ line 3 carries: records were rewritten/,
      ),
    ]);
  });

  it('catches a state file rewritten to claim records replayed, and the records removed with it', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 5);
    await shutdown(rig);
    const { path, lines } = await segmentOf(rig.h.dir);
    const third = hashOf(lines[2]!);
    await writeFile(path, `${lines.slice(3).join('\n')}\n`);
    await writeFile(
      join(rig.h.dir, 'state.json'),
      JSON.stringify({ baseSeq: 3, baseHash: third, replayedSeq: 3, replayedHash: third }),
    );

    expect(await verifyAuditSpool(rig.h.dir)).toMatchObject({ ok: true, records: 2, lastSeq: 5 });
    const checked = await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir });
    expect(checked.problems).toEqual([
      expect.stringMatching(
        /^state\.json says the replay passed record 3, but the ledger \(\S+ line \d+\) saw it reach record 0 at most: records 1 to 3 were removed as if replayed\.$/,
      ),
    ]);
  });

  it('reports a break of the ledger’s own chain', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 2);
    await shutdown(rig);
    const [file] = (await readdir(rig.ledgerDir)).filter((n) => n.startsWith('ledger-'));
    const path = join(rig.ledgerDir, file!);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"replayedSeq":0', '"replayedSeq":1'));
    const checked = await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir });
    expect(checked.ok).toBe(false);
    expect(checked.problems).toEqual([
      expect.stringMatching(/^ledger \S+ line 1: its content does not match its hash: it was edited; /),
    ]);
  });

  it('needs ledger files where `ledger` points, and reads the monitor from the directory unless told', async () => {
    const rig = await boot();
    await spool(rig.h, 1, 2);
    await shutdown(rig);
    const empty = join(rig.root, 'empty');
    await mkdir(empty);
    expect((await verifyAuditSpool(rig.h.dir, { ledger: empty })).problems).toEqual([
      `${empty}: no ledger files (ledger-*.jsonl): the spool cannot be checked.`,
    ]);
    expect(await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir, monitor: 'other' })).toMatchObject({
      ok: true,
      ledgerHead: null,
    });
    expect(await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir })).toMatchObject({
      ok: true,
      ledgerHead: { seq: 2, replayedSeq: 0 },
    });
  });

  describe('a genuine spool verifies', () => {
    it('mid-outage, after a partial replay, and after a full one; the replay records its position once per stretch', async () => {
      const rig = await boot();
      const { h, ledger, ledgerDir } = rig;
      await spool(h, 1, 5);
      await ledger.flushed();
      expect(await verifyAuditSpool(h.dir, { ledger: ledgerDir })).toMatchObject({
        ok: true,
        ledgerHead: { seq: 5, replayedSeq: 0 },
      });

      // The recovery: two records replayed, then the storage fails again and the replay stops.
      h.clock.advance(THRESHOLD_MS);
      h.storage.mode = 'up';
      await h.write(6);
      // The storage fails again once two records are replayed (and the write of record 6 is stored).
      const failAgain = (): boolean => h.storage.rows.length === 3 && (h.storage.mode = 'down') === 'down';
      await advanceUntil(h, failAgain, 'two replays');
      for (let i = 0; i < 10; i += 1) {
        await io();
        h.clock.advance(100);
      }
      expect(h.monitor.spool!.pending).toBe(3);
      await ledger.flushed();
      expect(await verifyAuditSpool(h.dir, { ledger: ledgerDir })).toMatchObject({
        ok: true,
        ledgerHead: { seq: 5, replayedSeq: 2 },
      });
      // Before the first record replayed, the ledger was told the replay may pass all five it read; then where it stopped.
      expect((await spoolHeads(ledgerDir)).map((r) => r.replayedSeq)).toEqual([0, 0, 0, 0, 0, 5, 2]);

      h.storage.mode = 'up';
      await advanceUntil(h, () => h.monitor.spool!.pending === 0, 'the drain');
      await ledger.flushed();
      expect((await readdir(h.dir)).filter((n) => n.startsWith('segment-'))).toEqual([]);
      expect(await verifyAuditSpool(h.dir, { ledger: ledgerDir })).toMatchObject({
        ok: true,
        records: 0,
        lastSeq: 5,
        ledgerHead: { seq: 5, replayedSeq: 5 },
      });
    });

    it('while the ledger is slow to write: the replay waits for it before it marks records replayed, then goes on', async () => {
      const rig = await boot();
      const { h, writer } = rig;
      await spool(h, 1, 3);
      const held: (() => void)[] = [];
      writer.held = held;
      h.clock.advance(THRESHOLD_MS);
      h.storage.mode = 'up';
      await h.write(4);
      await advanceUntil(h, () => held.length === 1, 'the replay to ask the ledger');
      for (let i = 0; i < 10; i += 1) {
        await io();
        h.clock.advance(100);
      }
      // Record 1 was written to the storage; the spool does not say so before the ledger has it.
      expect(h.storage.rows.map((r) => r.id)).toEqual(['r-4', 'r-1']);
      expect(h.monitor.spool!.pending).toBe(3);
      writer.held = null;
      held[0]!();
      await advanceUntil(h, () => h.monitor.spool!.pending === 0, 'the drain');
      await shutdown(rig);
      expect(h.storage.rows.map((r) => r.id)).toEqual(['r-4', 'r-1', 'r-2', 'r-3']);
      expect(await verifyAuditSpool(h.dir, { ledger: rig.ledgerDir })).toMatchObject({ ok: true });
    });

    it('with records the ledger has not seen: spooled by a process that died before its ledger wrote them', async () => {
      const first = await boot();
      await spool(first.h, 1, 3);
      await shutdown(first);
      // The next run's ledger records are lost, as in a crash between the spool's fsync and the ledger's.
      const down = new Storage();
      down.mode = 'down';
      const second = await boot(first.root, false, down);
      await spool(second.h, 4, 5);
      second.h.monitor.close();
      const checked = await verifyAuditSpool(second.h.dir, { ledger: first.ledgerDir });
      expect(checked.problems).toEqual([]);
      expect(checked).toMatchObject({ ok: true, records: 5, lastSeq: 5, ledgerHead: { seq: 3 } });
    });

    it.each([
      ['before the replay starts', 0],
      ['in the middle of the replay', 2],
    ])('after a crash %s, and once the next process has drained it', async (_when, replayed) => {
      const first = await boot();
      await spool(first.h, 1, 5);
      first.h.clock.advance(THRESHOLD_MS);
      first.h.storage.mode = 'up';
      if (replayed === 0) first.dying();
      await first.h.write(6);
      await advanceUntil(first.h, () => first.h.storage.rows.length >= 1 + replayed, 'the replay');
      first.dying();
      // What the dying process still does before it is gone.
      for (let i = 0; i < 10; i += 1) {
        await io();
        first.h.clock.advance(100);
      }
      await first.crash();
      // The spool never moves past what the ledger recorded: here, it waits for the ledger that died.
      expect(await verifyAuditSpool(first.h.dir, { ledger: first.ledgerDir })).toMatchObject({ ok: true });

      const second = await boot(first.root);
      await advanceUntil(second.h, () => second.h.monitor.spool!.pending === 0, 'the drain');
      await shutdown(second);
      expect(await verifyAuditSpool(second.h.dir, { ledger: second.ledgerDir })).toMatchObject({
        ok: true,
        ledgerHead: { seq: 5, replayedSeq: 5 },
      });
    });

    it('after a crash between the state file’s move and the deletion of the segment it passed', async () => {
      const rig = await boot();
      await spool(rig.h, 1, 3);
      const { path, name } = await segmentOf(rig.h.dir);
      const copy = join(rig.root, name);
      await copyFile(path, copy);
      await recoverAndDrain(rig.h, 4);
      await shutdown(rig);
      // The process died after state.json named the new start of the chain, before the file went.
      await copyFile(copy, path);
      expect(await verifyAuditSpool(rig.h.dir)).toMatchObject({ ok: true, records: 0, lastSeq: 3 });
      expect(await verifyAuditSpool(rig.h.dir, { ledger: rig.ledgerDir })).toMatchObject({ ok: true });
    });
  });
});

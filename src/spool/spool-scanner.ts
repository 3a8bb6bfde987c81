import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines } from '../common/hash-chain.util.js';
import { parseLine, type SpoolEntry, spoolLineHash } from './spool-chain.js';
import type { QuarantinedLine } from './spool-quarantine.js';
import { segmentsOf } from './spool-segments.js';

/** What the replay does next: replay a verified record, or set damaged lines aside. */
export type SpoolStep =
  | { readonly kind: 'entry'; readonly entry: SpoolEntry; readonly hash: string }
  | {
      readonly kind: 'damaged';
      /** The lines set aside, in order. */
      readonly lines: readonly QuarantinedLine[];
      /** Records known to be missing (sequence numbers skipped); they cannot be named. */
      readonly missing: number;
      readonly reason: string;
      /** Where the replay stands once they are set aside. */
      readonly through: { readonly seq: number; readonly hash: string | null };
    };

/**
 * Where a scan starts (the last record replayed) and where the spool ends (the
 * last record appended). Asked for again after each read of the files, since
 * appends go on while the scan reads.
 */
interface SpoolScanBounds {
  readonly replayedSeq: number;
  /** `null` (or unknown) when the line replayed last was unreadable: the next line's `prev` cannot be checked. */
  readonly replayedHash?: string | null;
  readonly lastSeq: number;
  readonly lastHash: string;
}

/** The last sequence number a step covers: once the replay is past it, the step is done. */
export function stepEnd(step: SpoolStep): number {
  return step.kind === 'entry' ? step.entry.seq : step.through.seq;
}

/**
 * Reads the pending lines of the segment holding the next record and checks
 * each against the chain. A line whose content does not match its hash, or
 * that is no spool line, is damaged: set aside alone, the chain goes on past
 * it. A line out of sequence or not chained to the one before is a break:
 * it and everything after it are set aside, since none of it can be trusted.
 */
export async function scanPending(
  directory: string,
  bounds: () => SpoolScanBounds,
  key: Buffer | null,
): Promise<SpoolStep[]> {
  const segments = await segmentsOf(directory);
  const start = bounds();
  const from = start.replayedSeq;
  let index = segments.findLastIndex((s) => s.firstSeq <= from + 1);
  if (index < 0) index = 0;
  const steps: SpoolStep[] = [];
  let expectSeq = from + 1;
  let expectPrev = start.replayedHash ?? null;
  for (let i = index; i < segments.length; i += 1) {
    const { name, firstSeq } = segments[i]!;
    const text = await readFile(join(directory, name), 'utf8');
    const lines = completeLines(text);
    // A partial last line of an older file is damage; of the newest, a line being written.
    if (i < segments.length - 1 && !text.endsWith('\n') && text !== '')
      lines.push(text.slice(text.lastIndexOf('\n') + 1));
    let lastSeen = firstSeq - 1;
    for (let n = 0; n < lines.length; n += 1) {
      const line = lines[n]!;
      const parsed = parseLine(line);
      // Lines the replay already went past.
      if (parsed ? parsed.seq <= from : lastSeen < from) {
        if (parsed) lastSeen = parsed.seq;
        continue;
      }
      const at = `${name} line ${n + 1}`;
      if (parsed === null) {
        steps.push({
          kind: 'damaged',
          lines: [{ seq: null, text: line }],
          missing: 0,
          reason: `${at} is not a spool line`,
          through: { seq: expectSeq, hash: null },
        });
        lastSeen = expectSeq;
        expectSeq += 1;
        expectPrev = null;
        continue;
      }
      lastSeen = parsed.seq;
      const inSequence = parsed.seq === expectSeq && (expectPrev === null || parsed.prev === expectPrev);
      if (!inSequence) {
        const why =
          parsed.seq !== expectSeq
            ? `sequence ${parsed.seq} where ${expectSeq} was due`
            : 'not chained to the line before it';
        return [...steps, await breakAt(directory, bounds, segments, i, n, `${at}: ${why}`, expectSeq)];
      }
      const entry: SpoolEntry = { seq: parsed.seq, id: parsed.id, at: parsed.at, record: parsed.record };
      if (spoolLineHash(entry, parsed.prev, key) !== parsed.hash) {
        steps.push({
          kind: 'damaged',
          lines: [entry],
          missing: 0,
          reason: `${at}: its content does not match its hash`,
          through: { seq: parsed.seq, hash: parsed.hash },
        });
      } else {
        steps.push({ kind: 'entry', entry, hash: parsed.hash });
      }
      expectSeq = parsed.seq + 1;
      expectPrev = parsed.hash;
    }
    if (steps.length > 0) return steps;
  }
  const end = bounds();
  if (steps.length === 0 && end.replayedSeq < end.lastSeq) {
    // Records the spool counts are not in its files: removed from outside.
    const missing = end.lastSeq - expectSeq + 1;
    return [
      {
        kind: 'damaged',
        lines: [],
        missing,
        reason: `records ${expectSeq} to ${end.lastSeq} are missing from the spool's files`,
        through: { seq: end.lastSeq, hash: end.lastHash },
      },
    ];
  }
  return steps;
}

/** Everything from line `n` of segment `i` to the end of the spool, set aside after a break of the chain. */
async function breakAt(
  directory: string,
  bounds: () => SpoolScanBounds,
  segments: readonly { name: string }[],
  i: number,
  n: number,
  reason: string,
  firstDue: number,
): Promise<SpoolStep> {
  const lines: QuarantinedLine[] = [];
  for (let s = i; s < segments.length; s += 1) {
    const text = await readFile(join(directory, segments[s]!.name), 'utf8');
    const all = completeLines(text);
    for (const line of s === i ? all.slice(n) : all) {
      const parsed = parseLine(line);
      lines.push(
        parsed ? { seq: parsed.seq, id: parsed.id, at: parsed.at, record: parsed.record } : { seq: null, text: line },
      );
    }
  }
  const { lastSeq, lastHash } = bounds();
  // Sequence numbers due and in none of the lines: records removed.
  const present = new Set(lines.flatMap((line) => (line.seq === null ? [] : [line.seq])));
  let missing = 0;
  for (let seq = firstDue; seq <= lastSeq; seq += 1) if (!present.has(seq)) missing += 1;
  missing = Math.max(0, missing - lines.filter((line) => line.seq === null).length);
  return {
    kind: 'damaged',
    lines,
    missing,
    reason: `the chain breaks at ${reason}`,
    through: { seq: lastSeq, hash: lastHash },
  };
}

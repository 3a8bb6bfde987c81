import { PACKAGE_NAME } from '../package-manifest.js';
import { exportEvidence, type EvidenceFormat } from '../ledger/evidence-export.js';
import type { LedgerLine } from '../ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../ledger/ledger-reader.js';
import { verifyAuditLedger } from '../ledger/ledger-verifier.js';
import {
  CliExitCode,
  CliUnreadableError,
  CliUsageError,
  HELP_FLAG,
  readDirectory,
  readIsoDate,
} from './cli-args.util.js';
import type { CliCommand } from './cli-command.interface.js';

const DIR_FLAG = {
  type: 'string',
  value: '<directory>',
  required: true,
  description: "The ledger's directory (the `ledger.directory` option).",
} as const;

/** Unreadable lines listed one by one before they are only counted. */
const LISTED_BAD_LINES = 10;

/** `evidence export`: the evidence of a period, from the ledger, to stdout. */
export const evidenceExportCommand: CliCommand = {
  name: ['evidence', 'export'],
  summary:
    "Writes the evidence of a period from the ledger to stdout: a CSV row per outage episode, or the ledger's lines.",
  flags: {
    dir: DIR_FLAG,
    from: {
      type: 'string',
      value: '<iso-date>',
      description: 'Start of the period: a UTC day (2026-12-01) or a time with its offset. Default: the first line.',
    },
    to: {
      type: 'string',
      value: '<iso-date>',
      description: 'End of the period, inclusive (a day alone: to its end). Default: the last line.',
    },
    format: {
      type: 'string',
      value: 'csv|jsonl',
      required: true,
      choices: ['csv', 'jsonl'],
      description: "csv: one row per outage episode that overlaps the period; jsonl: the ledger's lines of the period.",
    },
    ...HELP_FLAG,
  },
  notes: `Lines that are not ledger lines are left out, and listed on stderr; run \`${PACKAGE_NAME} evidence verify\`.`,
  async run(flags, output) {
    const command = 'evidence export';
    const directory = await readDirectory(command, flags.dir as string);
    const from = flags.from === undefined ? undefined : readIsoDate(command, 'from', flags.from as string);
    const to = flags.to === undefined ? undefined : readIsoDate(command, 'to', flags.to as string, true);
    if (from !== undefined && to !== undefined && from > to) {
      throw new CliUsageError(`${command}: --to ${String(flags.to)} is before --from ${String(flags.from)}.`);
    }
    const lines: LedgerLine[] = [];
    const bad: string[] = [];
    for await (const read of readLedgerLines(directory)) {
      if (read.entry === null) bad.push(`${read.file} line ${read.line}`);
      else lines.push(read.entry);
    }
    if (lines.length === 0 && bad.length === 0) throw noLedger(command, directory);
    output.stdout(exportEvidence(lines, { from, to, format: flags.format as EvidenceFormat }));
    if (bad.length > 0) {
      const listed = bad.slice(0, LISTED_BAD_LINES).join(', ');
      const more = bad.length > LISTED_BAD_LINES ? ` and ${bad.length - LISTED_BAD_LINES} more` : '';
      output.stderr(
        `${PACKAGE_NAME} ${command}: left out ${bad.length} line(s) that are not ledger lines: ${listed}${more}. ` +
          `Run \`${PACKAGE_NAME} evidence verify --dir ${directory}\`.\n`,
      );
    }
    return CliExitCode.Ok;
  },
};

/** `evidence verify`: the ledger's hash chain and sequence. */
export const evidenceVerifyCommand: CliCommand = {
  name: ['evidence', 'verify'],
  summary: "Checks the ledger: each line's hash, its chain to the line before, the sequence; reports the first break.",
  flags: { dir: DIR_FLAG, ...HELP_FLAG },
  async run(flags, output) {
    const command = 'evidence verify';
    const directory = await readDirectory(command, flags.dir as string);
    const result = await verifyAuditLedger(directory);
    if (result.ok && result.entries === 0) throw noLedger(command, directory);
    if (result.ok) {
      output.stdout(`ok: ${result.entries} entries, each intact, chained to the one before it and in sequence.\n`);
      return CliExitCode.Ok;
    }
    const where =
      result.firstBadLine === undefined ? directory : `${result.firstBadLine.file} line ${result.firstBadLine.line}`;
    output.stderr(
      `break: ${where}: ${result.reason ?? 'the chain is broken'} (${result.entries} entries intact before it).\n`,
    );
    return CliExitCode.Broken;
  },
};

function noLedger(command: string, directory: string): CliUnreadableError {
  return new CliUnreadableError(
    `${command}: no ledger line in "${directory}" (files ledger-*.jsonl): is it the \`ledger.directory\` option's?`,
  );
}

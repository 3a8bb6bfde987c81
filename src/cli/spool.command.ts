import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ledgerFiles } from '../ledger/ledger-reader.js';
import { PACKAGE_NAME } from '../package-manifest.js';
import { HEAD_FILE, segmentsOf, STATE_FILE } from '../spool/spool-segments.js';
import { verifyAuditSpool } from '../spool/spool-verifier.js';
import { CliExitCode, CliUnreadableError, CliUsageError, HELP_FLAG, readDirectory } from './cli-args.util.js';
import type { CliCommand } from './cli-command.interface.js';

/** `spool verify`: a monitor's spool, with `verifyAuditSpool()`. */
export const spoolVerifyCommand: CliCommand = {
  name: ['spool', 'verify'],
  summary:
    "Checks a monitor's spool (the alternate audit log): each line's hash, its chain, the sequence, and head.json; with --ledger, against the head the evidence ledger recorded.",
  flags: {
    dir: {
      type: 'string',
      value: '<directory>',
      required: true,
      description: "A monitor's spool directory: the `spool.directory` option, then the monitor's name.",
    },
    'key-env': {
      type: 'string',
      value: '<variable>',
      description:
        'The environment variable that holds the `spool.hmacKey` of a keyed spool (never on the command line).',
    },
    ledger: {
      type: 'string',
      value: '<directory>',
      description:
        "The evidence ledger's directory (the `ledger.directory` option): finds records cut off the spool's end, " +
        'rewritten, or removed as if replayed, even with head.json rewritten to match.',
    },
    monitor: {
      type: 'string',
      value: '<name>',
      description: "The monitor whose spool head to look for in the ledger (default: the last part of --dir's path).",
    },
    ...HELP_FLAG,
  },
  notes: [
    `Example: AUDIT_SPOOL_KEY=… ${PACKAGE_NAME} spool verify --dir /var/lib/app/audit-spool/default --key-env AUDIT_SPOOL_KEY`,
    `         ${PACKAGE_NAME} spool verify --dir /var/lib/app/audit-spool/default --ledger /var/lib/app/audit-ledger`,
  ].join('\n'),
  async run(flags, output) {
    const command = 'spool verify';
    const directory = await readDirectory(command, flags.dir as string);
    let key: string | undefined;
    if (flags['key-env'] !== undefined) {
      const variable = flags['key-env'] as string;
      key = process.env[variable];
      if (key === undefined || key === '') {
        throw new CliUsageError(`${command}: --key-env ${variable}: the environment variable ${variable} is not set.`);
      }
    }
    const names = await readdir(directory);
    if ((await segmentsOf(directory)).length === 0 && !names.includes(HEAD_FILE) && !names.includes(STATE_FILE)) {
      throw new CliUnreadableError(
        `${command}: no spool in "${directory}" (no segment-*.jsonl, ${HEAD_FILE} or ${STATE_FILE}); ` +
          `pass a monitor's directory, such as ${join(directory, 'default')}.`,
      );
    }
    if (flags.monitor !== undefined && flags.ledger === undefined) {
      throw new CliUsageError(`${command}: --monitor names the spool's records in the ledger: it needs --ledger.`);
    }
    let ledger: string | undefined;
    if (flags.ledger !== undefined) {
      ledger = await readDirectory(command, flags.ledger as string, 'ledger');
      if ((await ledgerFiles(ledger)).length === 0) {
        throw new CliUnreadableError(
          `${command}: no evidence ledger in "${ledger}" (no ledger-*.jsonl); pass the \`ledger.directory\` option's directory.`,
        );
      }
    }
    const monitor = (flags.monitor as string | undefined) ?? basename(directory);
    const result = await verifyAuditSpool(directory, {
      ...(key === undefined ? {} : { key }),
      ...(ledger === undefined ? {} : { ledger, monitor }),
    });
    if (result.ok) {
      output.stdout(`ok: ${result.records} records, intact and chained, up to sequence ${result.lastSeq}.\n`);
      if (result.ledgerHead === null) {
        output.stdout(
          `The ledger holds no record of monitor "${monitor}"'s spool: only the spool's own chain was checked.\n`,
        );
      } else if (result.ledgerHead !== undefined) {
        const { seq, replayedSeq, file, line } = result.ledgerHead;
        output.stdout(
          `Consistent with the ledger (${file} line ${line}): head at record ${seq}, replay at most to record ${replayedSeq}.\n`,
        );
      }
      return CliExitCode.Ok;
    }
    output.stderr(result.problems.map((problem) => `break: ${problem}\n`).join(''));
    return CliExitCode.Broken;
  },
};

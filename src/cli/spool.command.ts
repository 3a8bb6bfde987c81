import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_NAME } from '../package-manifest.js';
import { HEAD_FILE, segmentsOf, STATE_FILE } from '../spool/spool-segments.js';
import { verifyAuditSpool } from '../spool/spool-verifier.js';
import { CliExitCode, CliUnreadableError, CliUsageError, HELP_FLAG, readDirectory } from './cli-args.util.js';
import type { CliCommand } from './cli-command.interface.js';

/** `spool verify`: a monitor's spool, with `verifyAuditSpool()`. */
export const spoolVerifyCommand: CliCommand = {
  name: ['spool', 'verify'],
  summary:
    "Checks a monitor's spool (the alternate audit log): each line's hash, its chain, the sequence, and head.json.",
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
    ...HELP_FLAG,
  },
  notes: `Example: AUDIT_SPOOL_KEY=… ${PACKAGE_NAME} spool verify --dir /var/lib/app/audit-spool/default --key-env AUDIT_SPOOL_KEY`,
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
    const result = await verifyAuditSpool(directory, key === undefined ? {} : { key });
    if (result.ok) {
      output.stdout(`ok: ${result.records} records, intact and chained, up to sequence ${result.lastSeq}.\n`);
      return CliExitCode.Ok;
    }
    output.stderr(result.problems.map((problem) => `break: ${problem}\n`).join(''));
    return CliExitCode.Broken;
  },
};

import { errorText } from '../common/error-text.util.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../package-manifest.js';
import {
  CliExitCode,
  CliUnreadableError,
  CliUsageError,
  commandHelp,
  EXIT_CODES_HELP,
  readFlags,
} from './cli-args.util.js';
import type { CliCommand, CliOutput } from './cli-command.interface.js';
import { evidenceExportCommand, evidenceVerifyCommand } from './evidence.command.js';
import { spoolVerifyCommand } from './spool.command.js';

const COMMANDS: readonly CliCommand[] = [evidenceExportCommand, evidenceVerifyCommand, spoolVerifyCommand];

const HELP_WORDS = ['--help', '-h', 'help'];

/** The list of commands, for `--help` at the top level (or at a group, such as `evidence --help`). */
function programHelp(group?: string): string {
  const commands = COMMANDS.filter((command) => group === undefined || command.name[0] === group);
  return [
    `Usage: ${PACKAGE_NAME} <command> [flags]`,
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.join(' ').padEnd(18)}${command.summary}`),
    '',
    `Run \`${PACKAGE_NAME} <command> --help\` for the flags of a command; \`${PACKAGE_NAME} --version\` for the version.`,
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

/**
 * Runs the command line `args` (what follows the program's name) and resolves
 * to its exit code; never rejects: every failure is a message on stderr.
 */
export async function runCli(args: readonly string[], output: CliOutput): Promise<number> {
  const [group, name, ...rest] = args;
  if (group === undefined) {
    output.stderr(programHelp());
    return CliExitCode.Usage;
  }
  if (HELP_WORDS.includes(group)) {
    output.stdout(programHelp());
    return CliExitCode.Ok;
  }
  if (group === '--version') {
    output.stdout(`${PACKAGE_VERSION}\n`);
    return CliExitCode.Ok;
  }
  const inGroup = COMMANDS.filter((command) => command.name[0] === group);
  const all = COMMANDS.map((command) => command.name.join(' ')).join(', ');
  if (inGroup.length === 0) return usage(output, `unknown command "${group}"; the commands are: ${all}.`);
  if (name === undefined || HELP_WORDS.includes(name)) {
    if (name === undefined) {
      output.stderr(programHelp(group));
      return CliExitCode.Usage;
    }
    output.stdout(programHelp(group));
    return CliExitCode.Ok;
  }
  const command = inGroup.find((candidate) => candidate.name[1] === name);
  if (command === undefined) {
    return usage(output, `unknown command "${group} ${name}"; the commands are: ${all}.`);
  }
  const title = command.name.join(' ');
  try {
    const flags = readFlags(title, rest, command.flags);
    if (flags.help === true) {
      output.stdout(commandHelp(PACKAGE_NAME, title, command.summary, command.flags, command.notes));
      return CliExitCode.Ok;
    }
    return await command.run(flags, output);
  } catch (error) {
    if (error instanceof CliUsageError) return usage(output, error.message, title);
    if (error instanceof CliUnreadableError) {
      output.stderr(`${PACKAGE_NAME} ${error.message}\n`);
      return CliExitCode.Unreadable;
    }
    output.stderr(`${PACKAGE_NAME} ${title}: ${errorText(error)}\n`);
    return CliExitCode.Unreadable;
  }
}

function usage(output: CliOutput, message: string, command?: string): number {
  const help = command === undefined ? `${PACKAGE_NAME} --help` : `${PACKAGE_NAME} ${command} --help`;
  output.stderr(`${PACKAGE_NAME} ${message}\nRun \`${help}\` for the usage.\n`);
  return CliExitCode.Usage;
}

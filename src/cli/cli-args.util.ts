import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';

/** The exit codes of the command line, as its help lists them. */
export const CliExitCode = {
  /** Done; for a verification, nothing is wrong. */
  Ok: 0,
  /** A verification found a break. */
  Broken: 1,
  /** The command line is wrong: an unknown command or flag, a missing or bad value. */
  Usage: 2,
  /** There is nothing to read where `--dir` (or `--ledger`) points, or it cannot be read. */
  Unreadable: 3,
} as const;

/** What the help of every command ends with. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done; for a verification, nothing is wrong
  1  a verification found a break
  2  the command line is wrong (unknown command or flag, missing or bad value)
  3  nothing to read where --dir (or --ledger) points, or it cannot be read`;

/** A mistake on the command line: its message names the flag and what is allowed. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Nothing to read, or a read that failed. */
export class CliUnreadableError extends Error {
  override readonly name = 'CliUnreadableError';
}

/** One flag of a command. */
export interface CliFlag {
  /** `string` takes a value (`--dir D` or `--dir=D`); `boolean` takes none. */
  readonly type: 'string' | 'boolean';
  /** A one-letter alias, such as `h` for `-h`. */
  readonly short?: string;
  /** How the help shows the value, such as `<directory>`. */
  readonly value?: string;
  readonly required?: boolean;
  /** The values allowed, when they are a list. */
  readonly choices?: readonly string[];
  readonly description: string;
}

/** The flags of a command, by name (without `--`). */
export type CliFlags = Readonly<Record<string, CliFlag>>;

/** What every command accepts. */
export const HELP_FLAG: CliFlags = { help: { type: 'boolean', short: 'h', description: 'Show this help.' } };

/**
 * Reads `args` against `flags`. Unlike `parseArgs` in strict mode, every
 * mistake is reported with the flag's name and what the command allows.
 */
export function readFlags(command: string, args: readonly string[], flags: CliFlags): Record<string, string | true> {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, { type, short }]) => [name, short === undefined ? { type } : { type, short }]),
  );
  const known = Object.keys(flags)
    .map((name) => `--${name}`)
    .join(', ');
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | true> = {};
  for (const token of tokens) {
    if (token.kind !== 'option') {
      const what = token.kind === 'positional' ? `argument "${token.value}"` : '"--"';
      throw new CliUsageError(`${command}: unexpected ${what}; the flags are: ${known}.`);
    }
    const flag = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (flag === undefined)
      throw new CliUsageError(`${command}: unknown flag ${token.rawName}; the flags are: ${known}.`);
    if (Object.hasOwn(values, token.name)) throw new CliUsageError(`${command}: --${token.name} is given twice.`);
    if (flag.type === 'boolean') {
      if (token.value !== undefined) throw new CliUsageError(`${command}: --${token.name} takes no value.`);
      values[token.name] = true;
      continue;
    }
    // Without strict parsing, `--dir --format csv` would take "--format" as the directory.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
      throw new CliUsageError(`${command}: --${token.name} needs a value: --${token.name} ${flag.value ?? '<value>'}.`);
    }
    if (flag.choices !== undefined && !flag.choices.includes(token.value)) {
      throw new CliUsageError(
        `${command}: --${token.name} "${token.value}" is not allowed; use one of: ${flag.choices.join(', ')}.`,
      );
    }
    values[token.name] = token.value;
  }
  if (values.help === true) return values;
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.required === true && !Object.hasOwn(values, name)) {
      throw new CliUsageError(`${command}: --${name} ${flag.value ?? '<value>'} is required.`);
    }
  }
  return values;
}

/** The help of a command: its usage line, what it does, its flags, the exit codes. */
export function commandHelp(program: string, command: string, summary: string, flags: CliFlags, notes = ''): string {
  const usage = Object.entries(flags)
    .filter(([name]) => name !== 'help')
    .map(([name, flag]) => {
      const text = flag.type === 'string' ? `--${name} ${flag.value ?? '<value>'}` : `--${name}`;
      return flag.required === true ? text : `[${text}]`;
    });
  const rows = Object.entries(flags).map(([name, flag]) => {
    const long = flag.type === 'string' ? `--${name} ${flag.value ?? '<value>'}` : `--${name}`;
    const left = flag.short === undefined ? long : `-${flag.short}, ${long}`;
    return `  ${left.padEnd(24)}${flag.description}`;
  });
  return [
    `Usage: ${program} ${command} ${usage.join(' ')}`,
    '',
    summary,
    '',
    'Flags:',
    ...rows,
    ...(notes === '' ? [] : ['', notes]),
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const DAY_MS = 86_400_000;

/**
 * Reads an ISO 8601 date (`2026-12-01`, a whole UTC day) or date and time
 * with its offset (`2026-12-01T08:00:00Z`, `2026-12-01T09:00+01:00`). A day
 * given alone is its start, or with `endOfDay` its last millisecond, so that
 * `--from 2026-12-01 --to 2026-12-31` covers all of December.
 */
export function readIsoDate(command: string, flag: string, value: string, endOfDay = false): Date {
  const match = ISO_DAY.exec(value) ?? ISO_TIME.exec(value);
  const day = match === null ? NaN : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2026-02-30 over to March 2: a day that does not exist reads back as another.
  if (match === null || new Date(day).toISOString().slice(0, 10) !== value.slice(0, 10)) {
    throw new CliUsageError(
      `${command}: --${flag} "${value}" is not an ISO 8601 date; use a UTC day such as 2026-12-01, ` +
        'or a date and time with its offset such as 2026-12-01T08:00:00Z.',
    );
  }
  if (ISO_DAY.test(value)) return new Date(endOfDay ? day + DAY_MS - 1 : day);
  return new Date(value);
}

/** Checks that `--dir` (or the flag `flag`) names a directory. */
export async function readDirectory(command: string, directory: string, flag = 'dir'): Promise<string> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CliUsageError(`${command}: --${flag} "${directory}": no such directory.`);
    }
    throw new CliUnreadableError(`${command}: --${flag} "${directory}" cannot be read: ${(error as Error).message}`);
  }
  if (!isDirectory) throw new CliUsageError(`${command}: --${flag} "${directory}" is a file, not a directory.`);
  return directory;
}

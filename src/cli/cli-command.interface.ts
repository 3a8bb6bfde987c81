import type { CliFlags } from './cli-args.util.js';

/** Where a command writes. */
export interface CliOutput {
  /** What the command produces: the export, or the verdict of a verification. */
  stdout(text: string): void;
  /** Warnings, breaks and errors. */
  stderr(text: string): void;
}

/** One command of the command line, such as `evidence export`. */
export interface CliCommand {
  /** The words that name it, such as `['evidence', 'export']`. */
  readonly name: readonly [string, string];
  /** One line, for the list of commands. */
  readonly summary: string;
  readonly flags: CliFlags;
  /** What the help says after the flags. */
  readonly notes?: string;
  /** Runs it with its flags read; resolves to the exit code. */
  run(flags: Readonly<Record<string, string | true>>, output: CliOutput): Promise<number>;
}

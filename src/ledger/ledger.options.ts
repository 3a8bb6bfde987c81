import { dirname, isAbsolute } from 'node:path';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import { directoryProblem, failPath } from '../options/path-checks.util.js';
import type { AuditLedgerOptions } from './ledger-options.interface.js';

/** The `ledger` option, validated. */
export interface ResolvedLedgerOptions {
  readonly directory: string;
  readonly retentionDays: number;
}

const LEDGER_KEYS = ['directory', 'retentionDays'] as const satisfies readonly (keyof AuditLedgerOptions)[];

/** Longest retention: a hundred years, far past any requirement, and well within a `Date`. */
const MAX_RETENTION_DAYS = 36_500;

const LEDGER_DIRECTORY_ALLOWED =
  "a directory of the process's user that it can list and write to, or a path whose parent is one (the ledger creates it, 0700)";

/**
 * Validates the `ledger` option; `null` when it is absent. Checks the file
 * system too: the directory, or its parent when it is not there yet, must be
 * usable.
 * @throws AuditAlertConfigError naming the first invalid field.
 */
export function resolveLedgerOptions(raw: unknown): ResolvedLedgerOptions | null {
  if (raw === undefined) return null;
  const path = 'ledger';
  const ledger = readObject(raw, path);
  rejectUnknownKeys(ledger, LEDGER_KEYS, `${path}.`);
  const { directory, retentionDays = 400 } = ledger;
  if (typeof directory !== 'string' || !isAbsolute(directory) || directory.includes('\u0000')) {
    fail(`${path}.directory`, directory, 'an absolute directory path');
  }
  if (
    typeof retentionDays !== 'number' ||
    !Number.isSafeInteger(retentionDays) ||
    retentionDays < 1 ||
    retentionDays > MAX_RETENTION_DAYS
  ) {
    fail(`${path}.retentionDays`, retentionDays, `a whole number of days from 1 to ${MAX_RETENTION_DAYS}`);
  }
  const problem =
    directoryProblem(directory, { missingIsFine: true, owned: true }) ?? directoryProblem(dirname(directory));
  if (problem !== null) failPath(`${path}.directory`, directory, problem, LEDGER_DIRECTORY_ALLOWED);
  return { directory, retentionDays };
}

import { accessSync, constants, lstatSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { unusablePathOption } from '../audit-alert.messages.js';

/*
 * The checks of the paths the module writes to, made once, synchronously,
 * while the options are resolved: a typo or a volume left unmounted stops the
 * bootstrap, naming the option, instead of failing the first outage. They read
 * the file system and change nothing on it.
 */

/** Everything the module does in a directory of its own: list it, create and rename files in it, fsync it. */
const DIRECTORY_ACCESS = constants.R_OK | constants.W_OK | constants.X_OK;

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/**
 * Why the module cannot keep files in `directory`, or `null` when it can (or,
 * with `missingIsFine`, when there is nothing there yet). With `owned`, the
 * directory must also belong to the process's user.
 */
export function directoryProblem(directory: string, { missingIsFine = false, owned = false } = {}): string | null {
  let stats: Stats;
  try {
    stats = statSync(directory);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOENT') return missingIsFine ? null : `${directory} does not exist`;
    if (code === 'ENOTDIR') return `a part of ${directory} is a file, not a directory`;
    return `${directory} cannot be reached (${code})`;
  }
  if (!stats.isDirectory()) return `${directory} is not a directory`;
  // Only its owner (or root) can chmod it, as the spool does to keep its subdirectory owner-only.
  const uid = process.getuid?.();
  if (owned && uid !== undefined && uid !== 0 && stats.uid !== uid) {
    return `${directory} belongs to another user (uid ${stats.uid}, the process runs as ${uid})`;
  }
  try {
    accessSync(directory, DIRECTORY_ACCESS);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EROFS') return `${directory} is on a read-only file system (EROFS)`;
    return `the process cannot list, create and rename files in ${directory} (${code})`;
  }
  return null;
}

/** Throws the error that refuses the path `value` of `option`, saying what is wrong with it here. */
export function failPath(option: string, value: string, problem: string, allowed: string): never {
  throw new AuditAlertConfigError(unusablePathOption(option, value, problem, allowed), option);
}

/**
 * Refuses a directory the module could not keep its files in: missing, not a
 * directory, or one the process cannot list, create and rename files in.
 */
export function assertUsableDirectory(option: string, directory: string, allowed: string): void {
  const problem = directoryProblem(directory);
  if (problem !== null) failPath(option, directory, problem, allowed);
}

/**
 * Refuses a file the module could not replace atomically (a new file written
 * beside it, then renamed over it): its directory missing or not writable, or
 * the path a directory, a symbolic link (the rename would replace the link, not
 * the file it points to) or a FIFO, socket or device (reading one at start
 * could block). A file that is not there yet is fine: the first write creates it.
 */
export function assertReplaceableFile(option: string, file: string, allowed: string): void {
  const directory = directoryProblem(dirname(file));
  if (directory !== null) failPath(option, file, `its directory cannot be used: ${directory}`, allowed);
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return;
    failPath(option, file, `it cannot be examined (${codeOf(error)})`, allowed);
  }
  if (stats.isSymbolicLink()) {
    failPath(
      option,
      file,
      'it is a symbolic link, and each write renames a new file over the path: the link would be replaced, not the file it points to',
      allowed,
    );
  }
  if (stats.isDirectory()) failPath(option, file, 'it is a directory', allowed);
  if (!stats.isFile()) failPath(option, file, 'it is not a regular file (a FIFO, a socket or a device)', allowed);
}

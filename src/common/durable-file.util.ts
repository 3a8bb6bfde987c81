import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Files the module writes hold audit evidence: readable by their owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * A new file only: never one that exists, never through a symbolic link. A
 * fixed temporary name could be planted beforehand as a link, and opening it
 * for writing would overwrite what it points to.
 */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Replaces a small file atomically and durably: a crash leaves the old one or
 * the new one. The content goes to a temporary file of a random name in the
 * same directory, created exclusively (`O_EXCL`, `O_NOFOLLOW`), fsync'd, then
 * renamed over `name`, and the directory fsync'd.
 * @throws When `name` is a symbolic link: renaming over it would replace the
 * link, and the file the user pointed at would silently stop being written.
 */
export async function writeDurably(directory: string, name: string, content: string): Promise<void> {
  const target = join(directory, name);
  await refuseSymbolicLink(target);
  const temporary = join(directory, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(temporary, CREATE_NEW, PRIVATE_FILE_MODE);
  try {
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

async function refuseSymbolicLink(path: string): Promise<void> {
  let isLink: boolean;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (isLink) {
    throw Object.assign(new Error(`${path} is a symbolic link; it is not written through`), { code: 'ELOOP' });
  }
}

/** Makes the entries of `directory` (a file created, renamed) survive a crash of the machine. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** Files the module writes hold audit evidence: readable by their owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Replaces a small file atomically and durably: a crash leaves the old one or the new one. */
export async function writeDurably(directory: string, name: string, content: string): Promise<void> {
  const temporary = join(directory, `${name}.tmp`);
  const file = await open(temporary, 'w', PRIVATE_FILE_MODE);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(directory, name));
  await syncDirectory(directory);
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

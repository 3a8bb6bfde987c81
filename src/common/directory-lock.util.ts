import { rmSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from './durable-file.util.js';

/** The name of the lock file in a directory the module keeps to one process (a spool's, the ledger's). */
const LOCK_FILE = 'lock';

/** Directories this process holds: a second spool or ledger (or module) on one is refused too. */
const HELD = new Set<string>();

/** Raised when another process (or another part of this one) holds the directory. */
class DirectoryLockedError extends Error {
  override readonly name = 'DirectoryLockedError';
}

/** The message refusing the directory: `holder` names who holds it, `lockFile` the lock's path. */
type DirectoryRefusal = (holder: string, lockFile: string) => string;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process per directory: a lock file made with `O_EXCL`, holding the
 * owner's pid and host. A lock whose process is gone (killed, crashed) is
 * taken over; one of a live process, or of another host (which cannot be
 * checked), is refused with the error `refusal` words, naming the option.
 * @internal
 */
export class DirectoryLock {
  private held = false;
  private readonly path: string;

  constructor(
    private readonly directory: string,
    private readonly refusalText: DirectoryRefusal,
  ) {
    this.path = join(directory, LOCK_FILE);
  }

  /** @param again The directory was made again: this process held it already. */
  async acquire(again = false): Promise<void> {
    if (!again && HELD.has(this.directory)) throw this.refusal({ pid: process.pid, host: hostname() });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const file = await open(this.path, 'wx', PRIVATE_FILE_MODE);
        try {
          await file.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
          await file.sync();
        } finally {
          await file.close();
        }
        this.held = true;
        HELD.add(this.directory);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let owner = await this.owner();
      if (owner === null) {
        // Being written by a process making it right now, or left half-made by one killed as it did.
        await new Promise((resolve) => setTimeout(resolve, 50));
        owner = await this.owner();
      }
      if (owner !== null && !this.stale(owner)) throw this.refusal(owner);
      // Left by a process that is gone (or half-written by one killed as it made it).
      await unlink(this.path).catch(() => undefined);
    }
    throw this.refusal(await this.owner());
  }

  /** Removes the lock file, if this lock made it. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    HELD.delete(this.directory);
    await unlink(this.path).catch(() => undefined);
  }

  /** The same, at once: at shutdown. */
  releaseSync(): void {
    if (!this.held) return;
    this.held = false;
    HELD.delete(this.directory);
    rmSync(this.path, { force: true });
  }

  /**
   * At shutdown: at once, or once `inFlight` (a write under way) has settled.
   * Another process taking the directory beside a write would append after a
   * line it has not read, and fork the chain.
   */
  releaseAfter(inFlight: Promise<unknown> | null): void {
    if (inFlight === null) return this.releaseSync();
    const release = (): void => this.releaseSync();
    void inFlight.then(release, release);
  }

  private async owner(): Promise<LockOwner | null> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<LockOwner>;
      return Number.isSafeInteger(parsed.pid) && typeof parsed.host === 'string'
        ? { pid: parsed.pid!, host: parsed.host }
        : null;
    } catch {
      return null;
    }
  }

  private stale(owner: LockOwner): boolean {
    if (owner.host !== hostname()) return false;
    // This process's own pid, in a lock it does not hold: left by an earlier run (a container's pid 1).
    if (owner.pid === process.pid) return !HELD.has(this.directory);
    return !alive(owner.pid);
  }

  private refusal(owner: LockOwner | null): DirectoryLockedError {
    const who = owner === null ? 'another process' : `process ${owner.pid} on ${owner.host}`;
    return new DirectoryLockedError(this.refusalText(who, this.path));
  }
}

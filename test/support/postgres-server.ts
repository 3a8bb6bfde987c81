import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findFreePort } from './free-port.js';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's `postgresql-<version>` packages put the server binaries. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

const INSTALL_HINT = 'apt-get install -y postgresql';

const HOST = '127.0.0.1';

/** How `pg_ctl stop` shuts the server down; see `pg_ctl --help`. */
export type PostgresStopMode = 'smart' | 'fast' | 'immediate';

/** Options of {@link PostgresServer}. */
export interface PostgresServerOptions {
  /**
   * Directory holding `initdb`, `pg_ctl` and `postgres`.
   * @default the newest `/usr/lib/postgresql/<version>/bin` that has them
   */
  binDir?: string;
  /**
   * OS user that owns the cluster and runs the server when this process is
   * root, because `initdb` and `postgres` refuse to run as root.
   * @default 'postgres'
   */
  osUser?: string;
  /**
   * Database role created by `initdb` and used by {@link PostgresServer.connectionString}.
   * @default 'postgres'
   */
  role?: string;
}

/**
 * A throwaway PostgreSQL cluster for tests: its own temporary data directory,
 * trust authentication on 127.0.0.1 only, a free TCP port and a unix socket
 * inside that directory. It can be stopped and started again on the same port
 * and data, which is how suites simulate a database outage.
 *
 * ```ts
 * const server = new PostgresServer();
 * await server.start();
 * const pool = new Pool({ connectionString: server.connectionString });
 * await server.stop({ mode: 'fast' }); // the storage goes away
 * await server.start();                // and comes back
 * await server.dispose();
 * ```
 */
export class PostgresServer {
  private readonly binDir: string;
  private readonly osUser: string;
  private readonly role: string;
  private baseDir: string | null = null;
  private serverPort: number | null = null;
  private postmasterPid: number | null = null;
  /** The processes {@link freeze} stopped, to be continued by {@link thaw}. */
  private frozen: number[] = [];
  private readonly killOnExit = (): void => this.killSync();

  /** @throws Error with the install command when the server binaries cannot be found. */
  constructor(options: PostgresServerOptions = {}) {
    this.binDir = options.binDir ?? findDebianBinDir();
    for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
      if (!existsSync(join(this.binDir, tool))) {
        throw new Error(
          `PostgreSQL's ${tool} is missing from ${this.binDir}; install the server with: ${INSTALL_HINT}`,
        );
      }
    }
    this.osUser = options.osUser ?? 'postgres';
    this.role = options.role ?? 'postgres';
  }

  /** TCP port the server listens on, chosen by the first {@link start}. */
  get port(): number {
    if (this.serverPort === null) throw new Error('PostgresServer.port is unknown until start() has been called');
    return this.serverPort;
  }

  /** `postgresql://` URL of the `postgres` database over TCP on 127.0.0.1. */
  get connectionString(): string {
    return `postgresql://${encodeURIComponent(this.role)}@${HOST}:${this.port}/postgres`;
  }

  /** Directory of the unix socket, usable as the `host` of a `pg` client. */
  get socketDir(): string {
    return this.dir();
  }

  /** Whether the server is up, as far as this object started and stopped it. */
  get running(): boolean {
    return this.postmasterPid !== null;
  }

  /**
   * Starts the server and waits until it accepts connections. The first call
   * creates the cluster; later calls reuse its data, port and socket directory.
   */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.baseDir === null) {
      try {
        await this.init();
      } catch (error) {
        // Leaves nothing half-made behind, so a later start() begins afresh.
        await this.dispose();
        throw error;
      }
    }
    await this.pgCtl(['start', '-w', '-t', '30', '-l', this.logFile()]);
    const pidFile = await readFile(join(this.dataDir(), 'postmaster.pid'), 'utf8');
    this.postmasterPid = Number.parseInt(pidFile, 10);
  }

  /**
   * Stops the server and waits until it is gone. `'fast'` disconnects clients
   * at once, as a database restart or failover does.
   * @default mode 'fast'
   */
  async stop({ mode = 'fast' }: { mode?: PostgresStopMode } = {}): Promise<void> {
    if (!this.running) return;
    // A frozen server could not answer pg_ctl.
    this.thaw();
    await this.pgCtl(['stop', '-w', '-t', '30', '-m', mode]);
    this.postmasterPid = null;
  }

  /**
   * Freezes the server without closing anything: SIGSTOP to the postmaster and
   * every process it started. Connections stay open and queries sent on them
   * get no answer, as behind a network partition or black-holed packets; new
   * connections wait in the kernel's backlog. {@link thaw} undoes it.
   */
  freeze(): void {
    if (this.postmasterPid === null || this.frozen.length > 0) return;
    // The postmaster first, so it starts no process while its children are being stopped.
    const pids = [this.postmasterPid];
    process.kill(this.postmasterPid, 'SIGSTOP');
    pids.push(...childrenOf(this.postmasterPid));
    for (const pid of pids.slice(1)) process.kill(pid, 'SIGSTOP');
    this.frozen = pids;
  }

  /** Continues the processes {@link freeze} stopped: the queries they held get their answers. */
  thaw(): void {
    // Children first, so the postmaster finds them running when it resumes.
    for (const pid of this.frozen.slice().reverse()) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone meanwhile.
      }
    }
    this.frozen = [];
  }

  /**
   * Switches every new transaction to read-only (`default_transaction_read_only`,
   * as after a failover onto a standby), or back: writes fail with "cannot
   * execute INSERT in a read-only transaction" while reads still work.
   */
  async setReadOnly(readOnly: boolean): Promise<void> {
    await this.psql([
      // The session itself must be writable to change the setting back.
      'SET default_transaction_read_only = off',
      readOnly
        ? 'ALTER SYSTEM SET default_transaction_read_only = on'
        : 'ALTER SYSTEM RESET default_transaction_read_only',
      'SELECT pg_reload_conf()',
    ]);
    // pg_reload_conf() only signals the postmaster. Once a new session sees the setting, the postmaster has
    // re-read its configuration and signalled every backend, so the pooled sessions apply it on their next command.
    const wanted = readOnly ? 'on' : 'off';
    for (let attempt = 0; ; attempt += 1) {
      const shown = await this.psql(['SHOW default_transaction_read_only'], ['--tuples-only', '--no-align']);
      if (shown.trim() === wanted) return;
      if (attempt === 100) throw new Error(`default_transaction_read_only is still "${shown.trim()}" after reload`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Runs `text` in a session of its own, opened and closed for it; resolves to its rows. */
  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.connectionString });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  }

  /** Stops the server if it runs and deletes its directory; the object is unusable afterwards. */
  async dispose(): Promise<void> {
    try {
      await this.stop({ mode: 'immediate' });
    } finally {
      process.removeListener('exit', this.killOnExit);
      if (this.baseDir !== null) await rm(this.baseDir, { recursive: true, force: true });
      this.baseDir = null;
    }
  }

  private async init(): Promise<void> {
    const baseDir = await mkdtemp(join(tmpdir(), 'audit-alert-pg-'));
    this.baseDir = baseDir;
    // A suite that dies before dispose() must not leave a server or a directory behind.
    process.once('exit', this.killOnExit);
    if (isRoot()) {
      const { uid, gid } = await lookUpUser(this.osUser);
      await chown(baseDir, uid, gid);
    }
    await this.asServerUser(join(this.binDir, 'initdb'), [
      '--pgdata',
      this.dataDir(),
      '--username',
      this.role,
      '--auth',
      'trust',
      '--encoding',
      'UTF8',
      '--locale',
      'C',
      '--no-sync',
    ]);
    this.serverPort = await findFreePort();
    // Overwrites in place, so the files keep the ownership initdb gave them.
    await writeFile(
      join(this.dataDir(), 'pg_hba.conf'),
      ['local all all trust', `host all all ${HOST}/32 trust`, ''].join('\n'),
    );
    await appendFile(
      join(this.dataDir(), 'postgresql.conf'),
      [
        '',
        `listen_addresses = '${HOST}'`,
        `port = ${this.serverPort}`,
        `unix_socket_directories = '${baseDir}'`,
        // A throwaway cluster: durability only costs time.
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 20',
        '',
      ].join('\n'),
    );
  }

  /** Runs each statement with psql over the unix socket, as the cluster's role. */
  /** Runs `statements` in one session and returns what psql printed. */
  private async psql(statements: string[], flags: string[] = []): Promise<string> {
    const args = ['--no-psqlrc', '--quiet', ...flags, '--host', this.dir(), '--port', String(this.port)];
    args.push('--username', this.role);
    for (const statement of statements) args.push('--command', statement);
    return this.asServerUser(join(this.binDir, 'psql'), [...args, '--dbname', 'postgres']);
  }

  private async pgCtl(args: string[]): Promise<void> {
    try {
      await this.asServerUser(join(this.binDir, 'pg_ctl'), ['--pgdata', this.dataDir(), ...args]);
    } catch (error) {
      const log = await readFile(this.logFile(), 'utf8').catch(() => '');
      throw new Error(
        `pg_ctl ${args[0]} failed: ${(error as Error).message}\n--- server log ---\n${log.slice(-4_000)}`,
        { cause: error },
      );
    }
  }

  /** Runs a PostgreSQL tool, as the server's OS user when this process is root. */
  private async asServerUser(file: string, args: string[]): Promise<string> {
    // cwd: the server's user may not be allowed into the test's working directory.
    const options = { cwd: this.dir(), timeout: 60_000 };
    if (!isRoot()) return (await run(file, args, options)).stdout;
    try {
      return (await run('runuser', ['-u', this.osUser, '--', file, ...args], options)).stdout;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const command = [file, ...args].map(shellQuote).join(' ');
      return (await run('su', [this.osUser, '-s', '/bin/sh', '-c', command], options)).stdout;
    }
  }

  /** Last resort when the process exits without dispose(): SIGQUIT is PostgreSQL's immediate shutdown. */
  private killSync(): void {
    this.thaw();
    if (this.postmasterPid !== null) {
      try {
        process.kill(this.postmasterPid, 'SIGQUIT');
      } catch {
        // Already gone.
      }
    }
    if (this.baseDir !== null) rmSync(this.baseDir, { recursive: true, force: true });
  }

  private dir(): string {
    if (this.baseDir === null) throw new Error('PostgresServer has no directory until start() has been called');
    return this.baseDir;
  }

  private dataDir(): string {
    return join(this.dir(), 'data');
  }

  private logFile(): string {
    return join(this.dir(), 'postgres.log');
  }
}

/** The processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command (which may hold spaces and parentheses) start after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!, 10);
      if (parent === pid) children.push(Number.parseInt(entry, 10));
    } catch {
      // Exited while being read.
    }
  }
  return children;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The bin directory of the newest PostgreSQL in /usr/lib/postgresql/<version>/bin. */
function findDebianBinDir(): string {
  let versions: string[] = [];
  try {
    versions = readdirSync(DEBIAN_POSTGRES_ROOT);
  } catch {
    // No PostgreSQL package at all: reported below.
  }
  const binDir = versions
    .filter((version) => existsSync(join(DEBIAN_POSTGRES_ROOT, version, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    .map((version) => join(DEBIAN_POSTGRES_ROOT, version, 'bin'))[0];
  if (!binDir) {
    throw new Error(
      `No PostgreSQL server found in ${DEBIAN_POSTGRES_ROOT}/*/bin (initdb, pg_ctl); install it with: ${INSTALL_HINT}`,
    );
  }
  return binDir;
}

async function lookUpUser(user: string): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    throw new Error(
      `OS user "${user}" not found; initdb refuses to run as root and needs it (${INSTALL_HINT} creates "postgres")`,
    );
  }
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { findFreePort } from './free-port.js';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const INSTALL_HINT = 'apt-get install -y redis-server';

const HOST = '127.0.0.1';

/** How long a start or a stop may take before the helper gives up. */
const STARTUP_TIMEOUT_MS = 10_000;

/**
 * A throwaway redis-server for tests: 127.0.0.1 only, a free port, no
 * persistence, its own temporary directory. It can be stopped and started
 * again on the same port (with an empty dataset, as after a crash), which is
 * how suites simulate a Redis outage.
 *
 * ```ts
 * const redis = new RedisServer();
 * await redis.start();
 * // ... cluster: { redis: redis.url }
 * await redis.stop();  // Redis goes away
 * await redis.start(); // and comes back, empty
 * await redis.dispose();
 * ```
 */
/** The files of a server that speaks TLS only (`--port 0 --tls-port …`), made by `makeTlsCertificates()`. */
export interface RedisTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** The CA's certificate (PEM), to check the server's while waiting for it to answer. */
  readonly ca: string;
}

/** How a {@link RedisServer} runs, beyond its defaults. */
export interface RedisServerOptions {
  /** Runs as a node of a Redis Cluster (`--cluster-enabled yes`); see {@link RedisCluster}. */
  clusterEnabled?: boolean;
  /** Speaks TLS only, with these files (clients need not present a certificate). */
  tls?: RedisTlsFiles;
  /** Further `redis-server` arguments, such as `['--replicaof', host, port]`. */
  args?: readonly string[];
}

export class RedisServer {
  /** Runs as a node of a Redis Cluster (`--cluster-enabled yes`); see {@link RedisCluster}. */
  readonly clusterEnabled: boolean;
  readonly tls: RedisTlsFiles | null;
  private readonly args: readonly string[];
  private readonly binary: string;
  private dir: string | null = null;
  private serverPort: number | null = null;
  private child: ChildProcess | null = null;
  private readonly killOnExit = (): void => this.killSync();

  /** @throws Error with the install command when `redis-server` cannot be found. */
  constructor(binary: string = findBinary(), { clusterEnabled = false, tls, args = [] }: RedisServerOptions = {}) {
    this.binary = binary;
    this.clusterEnabled = clusterEnabled;
    this.tls = tls ?? null;
    this.args = args;
  }

  /** TCP port the server listens on, chosen by the first {@link start}. */
  get port(): number {
    if (this.serverPort === null) throw new Error('RedisServer.port is unknown until start() has been called');
    return this.serverPort;
  }

  /** `redis://` URL of the server, `rediss://` when it speaks TLS. */
  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://${HOST}:${this.port}`;
  }

  /** Whether the server runs, as far as this object started and stopped it. */
  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the server and waits until it accepts connections; later calls reuse the port. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.dir === null) {
      this.dir = await mkdtemp(join(tmpdir(), 'audit-alert-redis-'));
      this.serverPort = await findFreePort();
      // A suite that dies before dispose() must not leave a server or a directory behind.
      process.once('exit', this.killOnExit);
    }
    const tls = this.tls;
    const ports = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile]
      : ['--port', String(this.port)];
    if (tls) ports.push('--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no');
    const args = [...ports, '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.args];
    if (this.clusterEnabled) {
      // A node that stops answering is failed over after a second; its cluster state lives in its own directory.
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000');
    }
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    this.child = child;
    try {
      await waitUntil(STARTUP_TIMEOUT_MS, async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) while starting:\n${output}`);
        }
        return answersPing(this.port, tls?.ca);
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops the server and waits until it is gone; `'SIGKILL'` stands for a crash. */
  async stop({ signal = 'SIGTERM' }: { signal?: 'SIGTERM' | 'SIGKILL' } = {}): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    }
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung Redis. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Runs `redis-cli` against this server and returns what it printed. */
  async cli(...args: string[]): Promise<string> {
    const tls = this.tls ? ['--tls', '--cacert', this.tls.caFile] : [];
    const { stdout } = await run(redisCli(this.binary), ['-h', HOST, '-p', String(this.port), ...tls, ...args]);
    return stdout;
  }

  /** Stops the server if it runs and deletes its directory; the object is unusable afterwards. */
  async dispose(): Promise<void> {
    try {
      await this.stop({ signal: 'SIGKILL' });
    } finally {
      process.removeListener('exit', this.killOnExit);
      if (this.dir !== null) await rm(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }

  private killSync(): void {
    this.child?.kill('SIGKILL');
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }
}

const run = promisify(execFile);

/** `redis-cli`, beside `redis-server` (Debian's package installs both). */
function redisCli(serverBinary: string): string {
  return join(dirname(serverBinary), 'redis-cli');
}

/**
 * A throwaway sharded Redis Cluster for tests: `masters` nodes made a cluster
 * by `redis-cli --cluster create`, all on 127.0.0.1, each a {@link RedisServer}.
 * A replica can be added to the master of one slot, which is then failed over
 * by killing that master.
 *
 * ```ts
 * const cluster = new RedisCluster(3);
 * await cluster.start();
 * const replica = await cluster.addReplica(slot);
 * await cluster.failOver(slot); // SIGKILLs the master; the replica takes over
 * await cluster.dispose();
 * ```
 */
export class RedisCluster {
  readonly nodes: RedisServer[] = [];

  constructor(private readonly masters = 3) {}

  /** `{ host, port }` of every node, for ioredis' `Cluster`. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.filter((node) => node.running).map((node) => ({ host: HOST, port: node.port }));
  }

  /** Starts the masters, makes them a cluster, and waits until every slot is served. */
  async start(): Promise<void> {
    for (let i = 0; i < this.masters; i += 1) this.nodes.push(new RedisServer(undefined, { clusterEnabled: true }));
    await Promise.all(this.nodes.map((node) => node.start()));
    const [first] = this.nodes;
    const addresses = this.nodes.map((node) => `${HOST}:${node.port}`);
    await first!.cli('--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes');
    await this.waitUntilHealthy();
  }

  /** The node serving `slot` as its master now. */
  async masterOf(slot: number): Promise<RedisServer> {
    const port = await this.masterPortOf(slot);
    const node = this.nodes.find((candidate) => candidate.running && candidate.port === port);
    if (!node) throw new Error(`no running node serves slot ${slot}`);
    return node;
  }

  /** Adds a node replicating the master of `slot`, and waits until it has synchronised. */
  async addReplica(slot: number): Promise<RedisServer> {
    const master = await this.masterOf(slot);
    const masterId = (await master.cli('cluster', 'myid')).trim();
    const replica = new RedisServer(undefined, { clusterEnabled: true });
    await replica.start();
    this.nodes.push(replica);
    await master.cli(
      '--cluster',
      'add-node',
      `${HOST}:${replica.port}`,
      `${HOST}:${master.port}`,
      '--cluster-slave',
      '--cluster-master-id',
      masterId,
    );
    await waitUntil(STARTUP_TIMEOUT_MS, async () => {
      const info = await replica.cli('info', 'replication');
      return info.includes('master_link_status:up');
    });
    await this.waitUntilHealthy();
    return replica;
  }

  /** Kills the master of `slot` (SIGKILL) and waits until another node serves it. */
  async failOver(slot: number): Promise<RedisServer> {
    const master = await this.masterOf(slot);
    await master.stop({ signal: 'SIGKILL' });
    let promoted: RedisServer | undefined;
    await waitUntil(STARTUP_TIMEOUT_MS, async () => {
      promoted = await this.masterOf(slot).catch(() => undefined);
      return promoted !== undefined;
    });
    return promoted!;
  }

  /** Stops every node and deletes their directories. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }

  private async masterPortOf(slot: number): Promise<number | null> {
    for (const node of this.nodes.filter((candidate) => candidate.running)) {
      try {
        const slots = JSON.parse(await node.cli('--json', 'cluster', 'slots')) as [number, number, [string, number]][];
        const range = slots.find(([from, to]) => from <= slot && slot <= to);
        if (range) return range[2][1];
      } catch {
        // This node is down or not ready: ask another.
      }
    }
    return null;
  }

  private async waitUntilHealthy(): Promise<void> {
    await waitUntil(STARTUP_TIMEOUT_MS, async () => {
      const states = await Promise.all(
        this.nodes.filter((node) => node.running).map((node) => node.cli('cluster', 'info').catch(() => '')),
      );
      return states.every((info) => info.includes('cluster_state:ok'));
    });
  }
}

/** `redis-server` on the PATH, or where Debian's package puts it. */
function findBinary(): string {
  return findExecutable('redis-server', INSTALL_HINT);
}

/**
 * An executable on the PATH, or in /usr/bin or /usr/sbin.
 * @throws Error with the command that installs it when it cannot be found.
 */
export function findExecutable(name: string, installHint: string): string {
  const directories = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const directory of directories) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(`${name} is not installed (looked in ${directories.join(', ')}); install it with: ${installHint}`);
}

/** Sends PING over a raw socket (over TLS, checked against `ca`, when given): true when the server answers PONG. */
export function answersPing(port: number, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      ca === undefined ? connect(port, HOST) : connectTls({ host: HOST, port, ca, servername: 'localhost' });
    let reply = '';
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(ca === undefined ? 'connect' : 'secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Retries `check` every 20 ms until it holds. */
export async function waitUntil(
  timeoutMs: number,
  check: () => Promise<boolean>,
  what = 'redis-server to answer',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

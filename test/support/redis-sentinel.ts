import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from './free-port.js';
import { answersPing, findExecutable, RedisServer, waitUntil } from './redis-server.js';

const HOST = '127.0.0.1';
const run = promisify(execFile);

/** How long the group may take to form, or to fail over, before the helper gives up. */
const TIMEOUT_MS = 15_000;

/**
 * A throwaway Sentinel group for tests, all on 127.0.0.1: a master, one
 * replica of it, and three `redis-sentinel`s (quorum 2) watching them under
 * {@link RedisSentinelGroup.masterName}, tuned to declare a master down after
 * 200 ms and to fail over within seconds.
 *
 * ```ts
 * const group = new RedisSentinelGroup();
 * await group.start();
 * // cluster: { redis: { sentinels: group.sentinels, name: group.masterName } }
 * await group.failOver(); // SIGKILLs the master; waits until the replica is promoted
 * await group.dispose();
 * ```
 */
export class RedisSentinelGroup {
  readonly masterName = 'audit-master';
  // A diskless sync would wait 5 s (its default delay) for more replicas to join.
  readonly master = new RedisServer(undefined, { args: ['--repl-diskless-sync-delay', '0'] });
  replica: RedisServer | null = null;
  private readonly sentinelBinary: string;
  private readonly cliBinary: string;
  private readonly sentinelPorts: number[] = [];
  private readonly children: ChildProcess[] = [];
  private dir: string | null = null;
  private readonly killOnExit = (): void => this.killSync();

  /** @throws Error with the install command when `redis-sentinel` (or `redis-server`) cannot be found. */
  constructor() {
    this.sentinelBinary = findExecutable('redis-sentinel', 'apt-get install -y redis-sentinel');
    this.cliBinary = findExecutable('redis-cli', 'apt-get install -y redis-tools');
  }

  /** `{ host, port }` of each Sentinel, for ioredis' `sentinels`. */
  get sentinels(): { host: string; port: number }[] {
    return this.sentinelPorts.map((port) => ({ host: HOST, port }));
  }

  /** Starts the master, its replica and the Sentinels, and waits until the Sentinels could fail over. */
  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'audit-alert-sentinel-'));
    process.once('exit', this.killOnExit);
    await this.master.start();
    this.replica = new RedisServer(undefined, { args: ['--replicaof', HOST, String(this.master.port)] });
    await this.replica.start();
    const replica = this.replica;
    await waitUntil(
      TIMEOUT_MS,
      async () => (await replica.cli('info', 'replication')).includes('master_link_status:up'),
      'the replica to synchronise with the master',
    );
    for (let index = 0; index < 3; index += 1) await this.startSentinel(index);
    // A failover needs a quorum of Sentinels that know one another (they meet every 2 s) and the replica.
    await waitUntil(
      TIMEOUT_MS,
      async () => {
        const states = await Promise.all(this.sentinelPorts.map((port) => this.masterState(port)));
        return states.every((state) => state['num-other-sentinels'] === '2' && state['num-slaves'] === '1');
      },
      'the Sentinels to know one another and the replica',
    );
  }

  /** Kills the master (SIGKILL) and waits until every Sentinel names the replica, now master, as the master. */
  async failOver(): Promise<void> {
    await this.master.stop({ signal: 'SIGKILL' });
    await this.waitForPromotion();
  }

  /** Waits until every Sentinel names the replica as the master and it acts as one. */
  async waitForPromotion(): Promise<void> {
    const replica = this.replica!;
    await waitUntil(
      TIMEOUT_MS,
      async () => {
        const addresses = await Promise.all(
          this.sentinelPorts.map((port) => this.cli(port, 'sentinel', 'get-master-addr-by-name', this.masterName)),
        );
        if (!addresses.every((address) => address.split('\n')[1]?.trim() === String(replica.port))) return false;
        return (await replica.cli('info', 'replication')).includes('role:master');
      },
      'the Sentinels to promote the replica',
    );
  }

  /** Stops every process of the group and deletes their directories. */
  async dispose(): Promise<void> {
    for (const child of this.children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    await Promise.all([this.master.dispose(), this.replica?.dispose()]);
    process.removeListener('exit', this.killOnExit);
    if (this.dir !== null) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private async startSentinel(index: number): Promise<void> {
    const port = await findFreePort();
    const config = join(this.dir!, `sentinel-${index}.conf`);
    // Sentinel rewrites its configuration file as it learns: it must be its own, and writable.
    await writeFile(
      config,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${this.dir}`,
        `sentinel monitor ${this.masterName} ${HOST} ${this.master.port} 2`,
        `sentinel down-after-milliseconds ${this.masterName} 200`,
        `sentinel failover-timeout ${this.masterName} 2000`,
        `sentinel parallel-syncs ${this.masterName} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn(this.sentinelBinary, [config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.children.push(child);
    this.sentinelPorts.push(port);
    await waitUntil(
      TIMEOUT_MS,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-sentinel exited (${child.exitCode}):\n${output}`);
        return answersPing(port);
      },
      `redis-sentinel on port ${port} to answer`,
    );
  }

  /** What a Sentinel knows of the master, as `SENTINEL MASTER` reports it. */
  private async masterState(port: number): Promise<Record<string, string>> {
    const lines = (await this.cli(port, 'sentinel', 'master', this.masterName)).trim().split('\n');
    const state: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) state[lines[i]!] = lines[i + 1]!;
    return state;
  }

  private async cli(port: number, ...args: string[]): Promise<string> {
    const { stdout } = await run(this.cliBinary, ['-h', HOST, '-p', String(port), ...args]);
    return stdout;
  }

  private killSync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { findFreePort } from './free-port.js';
import { delimiter, join } from 'node:path';

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
export class RedisServer {
  private readonly binary: string;
  private dir: string | null = null;
  private serverPort: number | null = null;
  private child: ChildProcess | null = null;
  private readonly killOnExit = (): void => this.killSync();

  /** @throws Error with the install command when `redis-server` cannot be found. */
  constructor(binary: string = findBinary()) {
    this.binary = binary;
  }

  /** TCP port the server listens on, chosen by the first {@link start}. */
  get port(): number {
    if (this.serverPort === null) throw new Error('RedisServer.port is unknown until start() has been called');
    return this.serverPort;
  }

  /** `redis://` URL of the server. */
  get url(): string {
    return `redis://${HOST}:${this.port}`;
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
    const args = ['--port', String(this.port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', this.dir];
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
        return answersPing(this.port);
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

/** `redis-server` on the PATH, or where Debian's package puts it. */
function findBinary(): string {
  const directories = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const directory of directories) {
    const candidate = join(directory, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(
    `redis-server is not installed (looked in ${directories.join(', ')}); install it with: ${INSTALL_HINT}`,
  );
}

/** Sends PING over a raw socket: true when the server answers PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    let reply = '';
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function waitUntil(timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis-server did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

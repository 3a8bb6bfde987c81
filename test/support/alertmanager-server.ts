import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findFreePort } from './free-port.js';

const INSTALL_HINT = 'apt-get install -y --no-install-recommends prometheus-alertmanager';

const HOST = '127.0.0.1';

/** Debian names the binary prometheus-alertmanager; upstream's release names it alertmanager. */
const BINARY_NAMES = ['prometheus-alertmanager', 'alertmanager'];

const STARTUP_TIMEOUT_MS = 15_000;

/** What the test configures of Alertmanager. */
export interface AlertmanagerConfig {
  /** Where the webhook receiver posts its notifications. */
  readonly webhookUrl: string;
  /** `global.resolve_timeout`, such as `3s`. */
  readonly resolveTimeout: string;
}

/**
 * A throwaway Prometheus Alertmanager (Debian's prometheus-alertmanager) for
 * tests: 127.0.0.1 on a free port, clustering off, its own data directory, a
 * route with short waits to one webhook receiver that sends resolved
 * notifications too.
 */
export class AlertmanagerServer {
  private dir: string | null = null;
  private child: ChildProcess | null = null;
  private serverPort: number | null = null;
  private readonly killOnExit = (): void => this.killSync();

  /** @throws Error with the install command when the binary cannot be found. */
  constructor(private readonly binary: string = findBinary()) {}

  get url(): string {
    if (this.serverPort === null) throw new Error('AlertmanagerServer.url is unknown until start() has been called');
    return `http://${HOST}:${this.serverPort}`;
  }

  async start({ webhookUrl, resolveTimeout }: AlertmanagerConfig): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'audit-alert-alertmanager-'));
    this.serverPort = await findFreePort();
    process.once('exit', this.killOnExit);
    const config = join(this.dir, 'alertmanager.yml');
    await writeFile(
      config,
      [
        'global:',
        `  resolve_timeout: ${resolveTimeout}`,
        'route:',
        '  receiver: webhook',
        "  group_by: ['alertname', 'service', 'monitor', 'outage_id']",
        '  group_wait: 100ms',
        '  group_interval: 500ms',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: webhook',
        '    webhook_configs:',
        `      - url: ${JSON.stringify(webhookUrl)}`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const args = [
      `--config.file=${config}`,
      `--storage.path=${join(this.dir, 'data')}`,
      `--web.listen-address=${HOST}:${this.serverPort}`,
      // Empty: no gossip with peers, no port of its own for it.
      '--cluster.listen-address=',
      '--log.level=warn',
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await this.dispose();
        throw new Error(`${this.binary} exited (${child.exitCode ?? child.signalCode}) while starting:\n${output}`);
      }
      const ready = await fetch(`${this.url}/-/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) {
        await this.dispose();
        throw new Error(`${this.binary} did not become ready within ${STARTUP_TIMEOUT_MS} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The alerts Alertmanager holds now (`GET /api/v2/alerts`), resolved ones included. */
  async alerts(): Promise<{ labels: Record<string, string>; status: { state: string }; endsAt: string }[]> {
    const response = await fetch(`${this.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`);
    return (await response.json()) as { labels: Record<string, string>; status: { state: string }; endsAt: string }[];
  }

  async dispose(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    process.removeListener('exit', this.killOnExit);
    if (this.dir !== null) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private killSync(): void {
    this.child?.kill('SIGKILL');
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }
}

function findBinary(): string {
  const directories = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const directory of directories) {
    for (const name of BINARY_NAMES) {
      const candidate = join(directory, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here.
      }
    }
  }
  throw new Error(
    `prometheus-alertmanager is not installed (looked in ${directories.join(', ')}); install it with: ${INSTALL_HINT}`,
  );
}

import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { type ChildApp, forkApp, killApp, sleep, until } from '../support/child-app.js';

/*
 * Issue #20, item 5: a capacity check hung on a dead mount was abandoned at
 * its timeout but kept its thread of libuv's pool, and a new one started every
 * interval; once the pool's 4 threads were held, the channels could not
 * resolve their host (dns.lookup runs in the pool) and the outage alert was
 * never delivered. FUSE cannot be mounted here (no fusermount, no FUSE
 * library): a FIFO opened for reading with no writer holds a pool thread just
 * as a statfs() on a mount that never answers does. The application runs as a
 * process of its own (the built dist/), since the pool is per process.
 */

const fixture = fileURLToPath(new URL('./fixtures/starved-pool-app.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const TEST_TIMEOUT_MS = 60_000;

type Message =
  | { kind: 'ready' }
  | { kind: 'saturated' }
  | { kind: 'checks'; count: number }
  | { kind: 'event'; type: string; level?: string };

describe('alert delivery with a starved libuv thread pool', () => {
  let dir: string;
  let receiver: HttpReceiver | undefined;
  let app: ChildApp<Message> | undefined;

  beforeAll(() => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
  });

  afterEach(async () => {
    if (app) await killApp(app);
    app = undefined;
    await receiver?.close();
    receiver = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function start(mode: 'hung-check' | 'saturated'): Promise<ChildApp<Message>> {
    dir = await mkdtemp(join(tmpdir(), 'audit-starved-'));
    const fifo = join(dir, 'dead-mount');
    execFileSync('mkfifo', [fifo]);
    receiver = await HttpReceiver.start();
    // By host name: resolving it is what needed a pool thread.
    const url = receiver.url('/hook').replace('127.0.0.1', 'localhost');
    app = await forkApp<Message>(fixture, { WEBHOOK_URL: url, FIFO: fifo, MODE: mode });
    return app;
  }

  const types = (): string[] => (receiver!.bodies() as { type: string }[]).map((body) => body.type);

  it(
    'never starts a capacity check while the one abandoned before it still hangs, and the alert goes out',
    async () => {
      const running = await start('hung-check');
      await until('the first check', () => running.messages.some((m) => m.kind === 'checks'));
      // Forty intervals and timeouts of the hung check.
      await sleep(1_500);
      const started = running.messages.filter((m) => m.kind === 'checks').length;
      expect(started).toBe(1);
      running.child.send('fail');
      await until('the alert to reach the receiver', () => types().includes('audit.storage.unreachable'), 10_000);
      expect(running.output).toContain('has not settled yet; no new check starts until it has');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'delivers to a host name, and measures the file system, with every pool thread held by the application',
    async () => {
      const running = await start('saturated');
      running.child.send('saturate');
      await until('the pool to be full', () => running.messages.some((m) => m.kind === 'saturated'));
      // filesystemCapacityCheck() runs statfs in a child process: it answers, and warns (warnAt is tiny).
      await until(
        'the capacity warning to reach the receiver',
        () => types().includes('audit.storage.capacity'),
        10_000,
      );
      running.child.send('fail');
      await until('the alert to reach the receiver', () => types().includes('audit.storage.unreachable'), 10_000);
      expect(types()).toEqual(['audit.storage.capacity', 'audit.storage.unreachable']);
    },
    TEST_TIMEOUT_MS,
  );
});

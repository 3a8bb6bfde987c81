import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { HttpReceiver } from '../channels/support/http-receiver.js';

/** Runs a fixture to its end; resolves with its exit code and output, whatever the code. */
function run(
  fixture: string,
  url: string,
  shutdownTimeoutMs = 5_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const path = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [path, url, String(shutdownTimeoutMs)], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

describe('closing a standalone application context while a channel waits to retry', () => {
  let receiver: HttpReceiver | undefined;
  afterEach(async () => receiver?.close());

  it.each(['close-while-retrying.mjs', 'close-while-retrying.cjs'])(
    '%s: the drain keeps the process alive, the retry is sent, close() resolves and every module shuts down',
    async (fixture) => {
      receiver = await HttpReceiver.start();
      receiver.reply({ status: 503 });
      const { code, stdout, stderr } = await run(fixture, receiver.url('/hook'));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout.trim().split('\n')).toEqual(['other module shut down', 'closed']);
      expect(receiver.requests).toHaveLength(2);
    },
  );

  it('keeps it alive no longer than shutdownTimeoutMs', async () => {
    receiver = await HttpReceiver.start();
    receiver.fallback = 'hang';
    const started = Date.now();
    // Long enough for the first attempt to start on a busy machine, far below the attempt's own 10 s timeout.
    const { code, stdout } = await run('close-while-retrying.mjs', receiver.url('/hook'), 1_500);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['other module shut down', 'closed']);
    expect(receiver.requests).toHaveLength(1);
    // Far below the channel's own 10 s attempt timeout: the drain stopped waiting, and nothing else kept the process.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

import { type ChildProcess, fork } from 'node:child_process';

/** A fixture application run as its own Node process, driven and heard over IPC. */
export interface ChildApp<TMessage> {
  readonly child: ChildProcess;
  /** Every message it sent, in order. */
  readonly messages: TMessage[];
  /** The last 4,000 characters of its stdout and stderr, for failure messages. */
  output: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms, for at most `timeoutMs` of real time. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Forks `fixture` with `env` on top of this process's, without waiting for it:
 * for a suite that starts many at once and keeps each one (to stop it) before
 * any of them is ready.
 */
export function spawnApp<TMessage>(fixture: string, env: Record<string, string>): ChildApp<TMessage> {
  const child = fork(fixture, [], {
    env: { ...process.env, ...env },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const app: ChildApp<TMessage> = { child, messages: [], output: '' };
  const keep = (chunk: Buffer): void => {
    app.output = (app.output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('message', (message: TMessage) => app.messages.push(message));
  return app;
}

/** Forks `fixture` with `env` on top of this process's, and waits until it sends `{ kind: 'ready' }`. */
export async function forkApp<TMessage extends { kind: string }>(
  fixture: string,
  env: Record<string, string>,
): Promise<ChildApp<TMessage>> {
  const app = spawnApp<TMessage>(fixture, env);
  await until(`${fixture} to start (${app.output})`, () => app.messages.some((m) => m.kind === 'ready'));
  return app;
}

/** Kills `app` with SIGKILL, as the kernel's OOM killer or a failed liveness probe would, and waits for it to exit. */
export async function killApp(app: ChildApp<unknown>): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.kill('SIGKILL');
  await exited;
}

import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAuditLedger } from '../../src/index.js';
import { type ChildApp, forkApp, killApp, until } from '../support/child-app.js';

/*
 * Two real processes on one ledger directory (the built package: run
 * `npm run build` first): the second is refused at start, naming
 * ledger.directory and the process holding it; once the first is killed, a
 * new one takes the directory over and continues the chain.
 */

const fixture = fileURLToPath(new URL('./fixtures/ledger-app.mjs', import.meta.url));

type Message = { kind: 'ready'; pid: number } | { kind: 'refused'; message: string } | { kind: 'tested' };

const children: ChildApp<Message>[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await killApp(child);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(dir: string): Promise<ChildApp<Message>> {
  const child = await forkApp<Message>(fixture, { LEDGER_DIR: dir });
  children.push(child);
  return child;
}

async function test(child: ChildApp<Message>): Promise<void> {
  const before = child.messages.filter((m) => m.kind === 'tested').length;
  child.child.send({ cmd: 'test' });
  await until('the test alert recorded', () => child.messages.filter((m) => m.kind === 'tested').length > before);
}

describe('a ledger directory shared by two processes', () => {
  it('refuses the second process, then lets a new one continue the chain once the first is killed', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'audit-ledger-proc-')), 'ledger');
    dirs.push(dir);
    const first = await start(dir);
    await test(first);

    const second = await start(dir);
    expect(second.messages).toContainEqual({
      kind: 'refused',
      message: expect.stringMatching(
        new RegExp(`^ledger\\.directory: .* is in use by process ${first.child.pid} on .*remove the lock file\\.$`),
      ),
    });

    await killApp(first);
    const third = await start(dir);
    expect(third.messages.map((m) => m.kind)).toEqual(['ready']);
    await test(third);
    // The first's boot and test event, then the third's (no recipients, so no receipts): one chain.
    expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 4 });
  }, 30_000);
});

import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/*
 * Issue #20, item 18: the @RequireAuditStorage() of the CommonJS build in an
 * application whose AuditAlertModule comes from the ESM build stopped the
 * bootstrap with Nest's "can't resolve dependencies of the AuditStorageGuard",
 * which does not say why. Run with the built dist/, in a process of its own.
 */

const fixture = fileURLToPath(new URL('./fixtures/dual-package-guard.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/cjs/index.js', import.meta.url));

describe('@RequireAuditStorage() of the other build', () => {
  beforeAll(() => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package first (npm run build)`);
  });

  it('stops the bootstrap with an error naming the dual-package cause and the route', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [fixture], { timeout: 30_000 });
    const outcome = JSON.parse(stdout) as { name?: string; option?: string; message?: string };
    expect(outcome).toMatchObject({ name: 'AuditAlertConfigError', option: '@RequireAuditStorage()' });
    expect(outcome.message).toMatch(
      /^TransfersController\.create\(\) is guarded by an AuditStorageGuard of the other build/,
    );
    expect(outcome.message).toContain('the dual-package hazard');
    expect(outcome.message).toContain('"One class identity per process" in docs/packaging.md');
  }, 40_000);
});

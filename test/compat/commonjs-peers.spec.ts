import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The CommonJS build beside ESM-only peers (release 12 of @nestjs/terminus and
 * @nestjs/event-emitter, both installed in this repository). Needs dist/.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `script` in a CommonJS child process; resolves to what it printed, or to why it failed. */
function runCommonJs(script: string, nodeFlags: string[] = []): Promise<string> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeFlags, '-e', script], { cwd: repoRoot, env }, (error, stdout, stderr) =>
      resolve(error ? `failed: ${stderr}` : stdout.trim()),
    );
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('the CommonJS build with ESM-only peers', () => {
  it('names the release to install when @nestjs/terminus cannot be loaded from CommonJS', async () => {
    // As Jest's module system, or Node before require(esm), fails to load an ESM-only package.
    const out = await runCommonJs("require('./dist/cjs/terminus/index.js')", ['--no-experimental-require-module']);
    expect(out).toContain(
      'nestjs-audit-alert (its CommonJS build) cannot load @nestjs/terminus: the installed release is ESM-only, and this application loads CommonJS. Install @nestjs/terminus@^11',
    );
  });

  it('loads @nestjs/terminus 12 where CommonJS can require ESM', async () => {
    const out = await runCommonJs(
      "console.log(typeof require('./dist/cjs/terminus/index.js').AuditStorageHealthIndicator)",
    );
    expect(out).toBe('function');
  });

  it('never loads @nestjs/event-emitter, an optional peer: the application emitter is found among its providers', async () => {
    const out = await runCommonJs(
      "require('./dist/cjs/index.js'); console.log(Object.keys(require.cache).filter((f) => f.includes('event-emitter')).length)",
    );
    expect(out).toBe('0');
    for (const file of [...(await filesUnder(join(repoRoot, 'dist')))].filter((f) => f.endsWith('.js'))) {
      expect(await readFile(file, 'utf8')).not.toMatch(/['"]@nestjs\/event-emitter['"]/);
    }
  });
});

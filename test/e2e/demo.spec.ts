import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/*
 * The runnable demo (`npm start`, `npx nest start`), compiled from example/ by `nest build` and run as a child
 * process against its embedded Postgres: it must tell the whole story of an
 * outage and exit cleanly on its own.
 *
 * The demo imports the package by name, which resolves to dist/ (built by
 * `npm test` before jest runs; built here when missing).
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
const nestCli = join(repoRoot, 'node_modules/@nestjs/cli/bin/nest.js');
const BUILD_TIMEOUT_MS = 120_000;
/** PGlite alone may take several seconds to start on a busy machine. */
const RUN_TIMEOUT_MS = 90_000;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

function runNode(script: string): Promise<Run> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS - 5_000,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('demo (npm start)', () => {
  let outDir: string;

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist/index.js'))) {
      await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot });
    }
    // Inside the package, so the demo's `import 'nestjs-audit-alert'` resolves by self-reference.
    await mkdir(join(repoRoot, '.tmp'), { recursive: true });
    const workDir = await mkdtemp(join(repoRoot, '.tmp/demo-'));
    outDir = join(workDir, 'out');
    // Built as `npx nest build` builds it (nest-cli.json: the tsc builder, deleteOutDir), into a directory of
    // this run's own through a tsconfig that only moves the output.
    await writeFile(
      join(workDir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../example/tsconfig.json', compilerOptions: { outDir: './out' } }),
    );
    await promisify(execFile)(
      process.execPath,
      [nestCli, 'build', '--path', relative(repoRoot, join(workDir, 'tsconfig.json'))],
      {
        cwd: repoRoot,
      },
    );
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (outDir) await rm(dirname(outDir), { recursive: true, force: true });
  });

  it(
    'shows the writes failing, the alert, its repeat and the recovery, then exits with 0',
    async () => {
      const { code, signal, output } = await runNode(join(outDir, 'main.js'));

      // The output joins the comparison only on failure, so a broken run shows what the demo printed.
      expect({ code, signal, ...(code === 0 ? {} : { output }) }).toEqual({ code: 0, signal: null });
      expect(output).toMatch(/write\s+#\d+ failed: .*ECONNREFUSED/);
      expect(output).toContain('audit.storage.unreachable (occurrence 1) received by PagerHook');
      expect(output).toMatch(/audit\.storage\.unreachable \(occurrence [2-9]\d*\) received by PagerHook/);
      expect(output).toMatch(/consecutiveFailures\s+\d+/);
      expect(output).toMatch(/lastError\s+Error: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
      expect(output).toContain('audit.storage.recovered received by PagerHook');
      // The built-in webhook channel delivers the same events to the demo's local receiver.
      expect(output).toMatch(/webhook\s+POST received: audit\.storage\.unreachable \(occurrence 1\)/);
      expect(output).toMatch(/webhook\s+POST received: audit\.storage\.recovered/);
      // The recovery's count of failed writes (not "lost": the demo has no spool), right after its duration.
      expect(output).toMatch(/received by PagerHook\n.*outageId.*\n.*outageDuration.*\n\s+writesFailed\s+[1-9]\d*/);
      // Every stored write is really in the table.
      const stored = /writesStored\s+(\d+)/.exec(output)?.[1];
      expect(stored).toBeDefined();
      expect(output).toMatch(new RegExp(`rowsInDemoTable\\s+${stored}\\b`));
      // The gap record: one row in the demo's gap table, for the outage the alerts named.
      const outageId = /audit\.storage\.unreachable \(occurrence 1\) received by PagerHook\n\s+outageId\s+(\S+)/.exec(
        output,
      )?.[1];
      expect(outageId).toBeDefined();
      expect(output).toMatch(
        new RegExp(
          `GAP\\s+audit logging interrupted: row written to nestjs_audit_alert_demo_gaps\\n\\s+outageId\\s+${outageId}`,
        ),
      );
      expect(output).toMatch(/gapRowsInDemoTable\s+1\b/);
    },
    RUN_TIMEOUT_MS,
  );
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

/*
 * The package as users get it: packed with `npm pack`, installed from the
 * tarball into fresh projects beside real Nest 11 and Nest 12 releases from the
 * registry, and driven by plain JavaScript applications (ESM, and CommonJS
 * through the CommonJS build) run as child processes.
 *
 * Then the consumer matrix: projects laid out as the Nest CLI generates them
 * (test/compat/consumers/), each of which builds with tsc, boots, and runs its
 * own unit tests against the package with its own test runner.
 *
 * Needs dist/ (built by `npm test` before jest runs) and a reachable npm registry.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const consumers = fileURLToPath(new URL('./consumers/', import.meta.url));
/**
 * Installed dependencies of the consumer projects, kept between runs (keyed by their
 * manifest, this package's peers and Node's version) so that a run installs nothing
 * but the freshly packed tarball once they are there.
 */
const CONSUMER_CACHE = join(tmpdir(), 'nestjs-audit-alert-consumer-cache');
const INSTALL_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 60_000;

interface Project {
  /** Directory name under the temporary root. */
  readonly name: string;
  /** Peer dependencies as a user would write them. */
  readonly peers: Readonly<Record<string, string>>;
  /** Expected major of the installed @nestjs/common. */
  readonly nestMajor: number;
}

const projects = {
  nest12: {
    name: 'nest12',
    peers: {
      '@nestjs/common': '^12.0.0',
      '@nestjs/core': '^12.0.0',
      '@nestjs/event-emitter': '^12.0.0',
      'reflect-metadata': '^0.2.0',
      rxjs: '^7.8.0',
    },
    nestMajor: 12,
  },
  nest11: {
    name: 'nest11',
    peers: {
      '@nestjs/common': '^11.0.0',
      '@nestjs/core': '^11.0.0',
      '@nestjs/event-emitter': '^3.0.0',
      'reflect-metadata': '^0.2.0',
      rxjs: '^7.8.0',
    },
    nestMajor: 11,
  },
  // The lowest versions the peer ranges accept: the named imports must exist there too.
  nest11Lowest: {
    name: 'nest11-lowest',
    peers: {
      '@nestjs/common': '11.0.0',
      '@nestjs/core': '11.0.0',
      '@nestjs/event-emitter': '3.0.0',
      'reflect-metadata': '0.1.13',
      rxjs: '7.1.0',
    },
    nestMajor: 11,
  },
} satisfies Record<string, Project>;

interface PackedFile {
  path: string;
}

interface PackResult {
  filename: string;
  files: PackedFile[];
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its output when it fails, so the report says why. */
function run(command: string, args: string[], cwd: string, timeout: number): Promise<RunResult> {
  const env = { ...process.env };
  // The children must run as a user's Node would, not with the options jest was given.
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** Runs a fixture application with `node`; it must exit 0, log nothing, and print one JSON line. */
async function runApp(project: Project, file: string): Promise<AppSummary> {
  const dir = join(root, project.name);
  // require(esm) warns on some Node 20 releases; any other warning or error is a failure.
  const { stdout, stderr } = await run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', file],
    dir,
    RUN_TIMEOUT_MS,
  );
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as AppSummary;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Whether `version` satisfies `range`; enough of semver for `engines` (`||`, `>=`, `^`, exact). */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string): number[] =>
    v
      .replace(/^v/, '')
      .split('.')
      .map((part) => Number.parseInt(part, 10) || 0);
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const v = parse(version);
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .every((comparator) => {
        const [, op = '', bound = ''] = /^(>=|<=|>|<|\^|=)?(.+)$/.exec(comparator) ?? [];
        const b = parse(bound);
        const c = compare(v, b);
        switch (op) {
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<=':
            return c <= 0;
          case '<':
            return c < 0;
          case '^': {
            // The leftmost non-zero part of the bound is fixed: ^0.2.0 allows 0.2.x only.
            const fixed = b[0] !== 0 ? 1 : b[1] !== 0 ? 2 : 3;
            return c >= 0 && v.slice(0, fixed).every((part, i) => part === b[i]);
          }
          default:
            return c === 0;
        }
      }),
  );
}

interface PackageJson {
  name: string;
  type?: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  typesVersions?: Record<string, Record<string, string[]>>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface AppSummary {
  sameMonitor: boolean;
  rejection: string | null;
  written: string;
  events: Record<string, unknown>[];
  listenerTypes: string[];
  states: string[];
  outageStatus: { state: string; consecutiveFailures: number; lastError: string };
  recoveredStatus: { state: string; outageId: string | null };
  packageEntry: string;
  nestVersion: string;
}

let root = '';
let packed: PackResult;

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'nestjs-audit-alert-compat-')));
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', root],
    repoRoot,
    INSTALL_TIMEOUT_MS,
  );
  [packed] = JSON.parse(stdout) as PackResult[];
  const tarball = join(root, packed!.filename);

  await Promise.all(
    Object.values(projects).map(async (project) => {
      const dir = join(root, project.name);
      await mkdir(dir);
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          name: `compat-${project.name}`,
          private: true,
          dependencies: { 'nestjs-audit-alert': `file:${tarball}`, ...project.peers },
        }),
      );
      for (const file of ['esm-app.mjs', 'cjs-app.cjs', 'outage-scenario.cjs']) {
        await copyFile(join(fixtures, file), join(dir, file));
      }
      await run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'],
        dir,
        INSTALL_TIMEOUT_MS,
      );
    }),
  );
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await Promise.all(consumerRuns.map((dir) => rm(dir, { recursive: true, force: true })));
});

const consumerRuns: string[] = [];

/**
 * A fresh copy of the consumer project `name` whose `node_modules/nestjs-audit-alert`
 * is the tarball packed by this run. Its other dependencies (and the peers npm installed
 * for the package) come from the cached install one directory up, where Node, tsc and
 * the test runners find them as they would in the project's own node_modules.
 */
async function prepareConsumer(name: string): Promise<string> {
  const source = join(consumers, name);
  const manifest = await readJson<PackageJson & { devDependencies?: Record<string, string> }>(
    join(source, 'package.json'),
  );
  const ownPeers = (await readJson<PackageJson>(join(repoRoot, 'package.json'))).peerDependencies;
  const key = createHash('sha256')
    .update(JSON.stringify([manifest.dependencies, manifest.devDependencies, ownPeers, process.version]))
    .digest('hex')
    .slice(0, 16);
  const installed = join(CONSUMER_CACHE, `${name}-${key}`);
  if (!existsSync(join(installed, 'node_modules'))) {
    await mkdir(CONSUMER_CACHE, { recursive: true });
    const staging = await mkdtemp(join(CONSUMER_CACHE, `${name}-staging-`));
    // The package itself is installed too, so that npm adds the peers it needs, as it would for a user.
    const tarball = join(root, packed.filename);
    await writeFile(
      join(staging, 'package.json'),
      JSON.stringify({
        ...manifest,
        dependencies: { ...manifest.dependencies, 'nestjs-audit-alert': `file:${tarball}` },
      }),
    );
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'],
      staging,
      INSTALL_TIMEOUT_MS,
    );
    // Another run may have finished the same install meanwhile; either copy will do.
    await rename(staging, installed).catch(() => rm(staging, { recursive: true, force: true }));
  }
  const project = await mkdtemp(join(installed, 'run-'));
  consumerRuns.push(project);
  await cp(source, project, { recursive: true });
  const own = join(project, 'node_modules/nestjs-audit-alert');
  await mkdir(own, { recursive: true });
  await run('tar', ['-xzf', join(root, packed.filename), '--strip-components=1', '-C', own], project, RUN_TIMEOUT_MS);
  return project;
}

/** What every application must have seen: one alert on the first failure, then the recovery. */
function expectOutageAndRecovery(project: Project, summary: AppSummary, build: 'esm' | 'cjs'): void {
  const entry = build === 'esm' ? 'dist/index.js' : 'dist/cjs/index.js';
  expect(summary.packageEntry).toBe(join(root, project.name, 'node_modules/nestjs-audit-alert', entry));
  expect(Number.parseInt(summary.nestVersion, 10)).toBe(project.nestMajor);
  expect(summary.sameMonitor).toBe(true);
  expect(summary.rejection).toBe('db down');
  expect(summary.written).toBe('row-1');
  expect(summary.states).toEqual(['alerting', 'healthy']);
  expect(summary.outageStatus).toEqual({ state: 'alerting', consecutiveFailures: 1, lastError: 'Error: db down' });
  expect(summary.recoveredStatus).toEqual({ state: 'healthy', outageId: null });
  expect(summary.listenerTypes).toEqual(['audit.storage.unreachable']);

  const [unreachable, recovered, ...more] = summary.events;
  expect(more).toEqual([]);
  expect(unreachable).toEqual({
    type: 'audit.storage.unreachable',
    outageId: expect.stringMatching(/\S/),
    monitor: 'default',
    serviceName: 'compat-app',
    firstFailureAt: { date: expect.any(String) },
    consecutiveFailures: 1,
    unreachableDurationMs: expect.any(Number),
    lastError: 'Error: db down',
    occurrence: 1,
    probeFailures: 0,
  });
  expect(recovered).toEqual({
    type: 'audit.storage.recovered',
    outageId: unreachable!.outageId,
    monitor: 'default',
    serviceName: 'compat-app',
    outageStartedAt: unreachable!.firstFailureAt,
    recoveredAt: { date: expect.any(String) },
    outageDurationMs: expect.any(Number),
    writesFailed: 1,
    recordsSpooled: null,
    recordsLost: null,
    eventsAffected: 1,
    unreachableAlerts: 1,
    degradedAlerts: 0,
  });
  const startedAt = Date.parse((recovered!.outageStartedAt as { date: string }).date);
  const recoveredAt = Date.parse((recovered!.recoveredAt as { date: string }).date);
  expect(recoveredAt).toBeGreaterThanOrEqual(startedAt);
  expect(unreachable!.unreachableDurationMs).toBeGreaterThanOrEqual(0);
  expect(recovered!.outageDurationMs).toBeGreaterThanOrEqual(0);
}

describe('the packed package', () => {
  it('ships the built entry points and nothing of the sources or tests', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts']));
    const unexpected = paths.filter((path) => !/^(dist\/|package\.json$|README\.md$|LICENSE(\.md)?$)/.test(path));
    expect(unexpected).toEqual([]);
  });

  it('declares an ESM and a CommonJS entry point per subpath, each with its own types, all shipped', async () => {
    const installed = join(root, projects.nest12.name, 'node_modules/nestjs-audit-alert');
    const pkg = await readJson<PackageJson>(join(installed, 'package.json'));
    expect(pkg.name).toBe('nestjs-audit-alert');
    expect(pkg.type).toBe('module');
    // For resolvers that ignore `exports` (TypeScript's node10, old tools): the CommonJS build.
    expect(pkg.main).toBe('./dist/cjs/index.js');
    expect(pkg.types).toBe('./dist/cjs/index.d.ts');
    const entry = (sub: string) => ({
      import: { types: `./dist/${sub}index.d.ts`, default: `./dist/${sub}index.js` },
      require: { types: `./dist/cjs/${sub}index.d.ts`, default: `./dist/cjs/${sub}index.js` },
    });
    expect(pkg.exports).toEqual({
      '.': entry(''),
      './terminus': entry('terminus/'),
      './typeorm': entry('typeorm/'),
      './pg': entry('pg/'),
      './mongo': entry('mongo/'),
      './package.json': './package.json',
    });
    // `types` must come before `default`: conditions are matched in order.
    for (const condition of ['import', 'require']) {
      expect(Object.keys((pkg.exports!['.'] as Record<string, object>)[condition]!)).toEqual(['types', 'default']);
    }
    // node10 resolution reads no `exports`: every subpath needs a typesVersions entry.
    expect(pkg.typesVersions).toEqual({
      '*': {
        terminus: ['./dist/cjs/terminus/index.d.ts'],
        typeorm: ['./dist/cjs/typeorm/index.d.ts'],
        pg: ['./dist/cjs/pg/index.d.ts'],
        mongo: ['./dist/cjs/mongo/index.d.ts'],
      },
    });
    // The CommonJS files sit below a package.json of their own that says so.
    expect(await readJson(join(installed, 'dist/cjs/package.json'))).toEqual({ type: 'commonjs' });
    const packedPaths = new Set(packed.files.map((file) => file.path));
    const targets = JSON.stringify(pkg.exports).match(/\.\/dist\/[^"]+/g) ?? [];
    for (const target of [pkg.main!, pkg.types!, ...targets]) {
      expect({ target, shipped: packedPaths.has(target.replace(/^\.\//, '')) }).toEqual({ target, shipped: true });
      expect((await stat(join(installed, target))).isFile()).toBe(true);
    }
    // Nest and friends are peers: a dependency would install a second @nestjs/common beside the app's.
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it('declares the Node versions that can require() it and the Nest majors it supports', async () => {
    const pkg = await readJson<PackageJson>(join(repoRoot, 'package.json'));
    const engines = pkg.engines?.node ?? '';
    // require(esm) works without a flag from Node 20.19 (and 22.12) on.
    for (const version of ['20.19.0', '22.12.0', '24.0.0', process.versions.node]) {
      expect({ version, accepted: satisfies(version, engines) }).toEqual({ version, accepted: true });
    }
    for (const version of ['18.20.0', '20.18.3', '22.11.0']) {
      expect({ version, accepted: satisfies(version, engines) }).toEqual({ version, accepted: false });
    }
    const peers = pkg.peerDependencies ?? {};
    for (const project of Object.values(projects)) {
      for (const [name, version] of Object.entries(project.peers)) {
        const lowest = version.replace(/^\^/, '');
        expect({ name, lowest, accepted: satisfies(lowest, peers[name] ?? '') }).toEqual({
          name,
          lowest,
          accepted: true,
        });
      }
    }
  });

  it('installs without a second copy of Nest inside the package', async () => {
    for (const project of Object.values(projects)) {
      const nested = join(root, project.name, 'node_modules/nestjs-audit-alert/node_modules');
      await expect(stat(nested)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});

describe('a Nest 12 application', () => {
  it(
    'in ESM imports the package, calls its hook on an outage and on the recovery',
    async () => {
      expectOutageAndRecovery(projects.nest12, await runApp(projects.nest12, 'esm-app.mjs'), 'esm');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'in CommonJS require()s the CommonJS build and gets the same alerts',
    async () => {
      expectOutageAndRecovery(projects.nest12, await runApp(projects.nest12, 'cjs-app.cjs'), 'cjs');
    },
    RUN_TIMEOUT_MS,
  );
});

describe('a Nest 11 application', () => {
  it(
    'in CommonJS require()s the package, whose named imports of Nest 11 resolve',
    async () => {
      expectOutageAndRecovery(projects.nest11, await runApp(projects.nest11, 'cjs-app.cjs'), 'cjs');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'in ESM imports the package and gets the same alerts',
    async () => {
      expectOutageAndRecovery(projects.nest11, await runApp(projects.nest11, 'esm-app.mjs'), 'esm');
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'on the lowest peer versions the package accepts works in CommonJS',
    async () => {
      expectOutageAndRecovery(projects.nest11Lowest, await runApp(projects.nest11Lowest, 'cjs-app.cjs'), 'cjs');
    },
    RUN_TIMEOUT_MS,
  );
});

describe('one process that loads both builds', () => {
  it(
    'shares the injection tokens, metadata keys and event names; the classes are two',
    async () => {
      await copyFile(join(fixtures, 'dual-package.mjs'), join(root, projects.nest12.name, 'dual-package.mjs'));
      const { stdout, stderr } = await run(
        process.execPath,
        ['dual-package.mjs'],
        join(root, projects.nest12.name),
        RUN_TIMEOUT_MS,
      );
      expect(stderr).toBe('');
      const installed = join(root, projects.nest12.name, 'node_modules/nestjs-audit-alert');
      expect(JSON.parse(stdout)).toEqual({
        entries: [join(installed, 'dist/index.js'), join(installed, 'dist/cjs/index.js')],
        // The dual-package hazard: each build has its own classes...
        sameMonitorClass: false,
        // ...but the tokens are strings or registered symbols, so they are one across builds:
        sameClockToken: true,
        sameMonitorToken: true,
        sameEventNames: true,
        // a provider written against the CommonJS build injects the monitor of a module registered through ESM,
        injectedIsTheMonitor: true,
        clockThroughCjsToken: 'function',
        // and a hook marked through the CommonJS build is found and called.
        hookEvents: ['audit.storage.unreachable'],
        // The limits: a class token of the other build is unknown to Nest, and instanceof sees one build only.
        cjsClassLookup: 'UnknownElementException',
        configError: { instanceOfEsm: true, instanceOfCjs: false, name: 'AuditAlertConfigError' },
      });
    },
    RUN_TIMEOUT_MS,
  );
});

describe('the consumer matrix', () => {
  /** Runs an npm script of a consumer project; the build and the tests must pass. */
  const npmRun = (project: string, script: string) =>
    run('npm', ['run', script, '--silent'], project, INSTALL_TIMEOUT_MS);

  /** Boots the built application, which answers its own health check over HTTP and prints the response. */
  async function boot(project: string): Promise<{ status: number; health: unknown; entry: string }> {
    const { stdout, stderr } = await run(process.execPath, ['dist/main.js'], project, RUN_TIMEOUT_MS);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    // The app's monitor has no probe: the health indicator says, once, what that means for readiness.
    expect(lines.slice(0, -1)).toEqual([expect.stringContaining('monitor "default" has no probe')]);
    return JSON.parse(lines.at(-1)!) as { status: number; health: unknown; entry: string };
  }

  const healthyBody = {
    status: 'ok',
    info: { audit_storage: expect.objectContaining({ status: 'up' }) },
    error: {},
    details: { audit_storage: expect.objectContaining({ status: 'up' }) },
  };

  it(
    'a Nest CLI 11 project (CommonJS, TypeScript 5.7, Jest + ts-jest) builds, boots, and its Jest test passes',
    async () => {
      const project = await prepareConsumer('nest11-cli-jest');
      await npmRun(project, 'build');
      const booted = await boot(project);
      expect(booted).toEqual({
        status: 200,
        health: healthyBody,
        entry: join(project, 'node_modules/nestjs-audit-alert/dist/cjs/index.js'),
      });
      const { stderr } = await npmRun(project, 'test');
      expect(stderr).toMatch(/Tests:\s+3 passed, 3 total/);
      // A tsconfig of the Nest 10 era (moduleResolution node) finds the types of every subpath.
      await npmRun(project, 'typecheck:node10');
    },
    INSTALL_TIMEOUT_MS + 3 * RUN_TIMEOUT_MS,
  );

  it(
    'a Nest CLI 12 project (ESM, TypeScript 6, Vitest) builds, boots, and its Vitest test passes',
    async () => {
      const project = await prepareConsumer('nest12-cli-vitest');
      await npmRun(project, 'build');
      expect(await boot(project)).toEqual({
        status: 200,
        health: healthyBody,
        entry: join(project, 'node_modules/nestjs-audit-alert/dist/index.js'),
      });
      const { stdout } = await npmRun(project, 'test');
      expect(stripVTControlCharacters(stdout)).toMatch(/Tests\s+3 passed \(3\)/);
    },
    INSTALL_TIMEOUT_MS + 3 * RUN_TIMEOUT_MS,
  );
});

describe('the shipped type declarations', () => {
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

  it.each([projects.nest12, projects.nest11])(
    'type-check a decorated consumer against $name types, as ESM and as CommonJS',
    async (project) => {
      const dir = join(root, project.name);
      const consumer = await readFile(join(fixtures, 'typed-consumer.ts.txt'), 'utf8');
      await writeFile(join(dir, 'consumer.mts'), consumer);
      await writeFile(join(dir, 'consumer.cts'), consumer);
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            noEmit: true,
            // Check the package's declarations too, not only their use.
            skipLibCheck: false,
            typeRoots: [join(repoRoot, 'node_modules/@types')],
            types: ['node'],
          },
          files: ['consumer.mts', 'consumer.cts'],
        }),
      );
      await run(process.execPath, [tsc, '-p', dir], dir, RUN_TIMEOUT_MS);
    },
    RUN_TIMEOUT_MS,
  );
});

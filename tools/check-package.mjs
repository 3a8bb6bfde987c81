// Checks the package as it is published, from one `npm pack` of the built dist/:
// - publint (strict): package.json fields, exports and files agree;
// - Are the Types Wrong?: every entry point's types resolve, as ESM and CommonJS, under node10, node16 and bundler;
// - the shipped .d.ts files import only Node built-ins, the required peer dependencies, and each optional
//   peer only under the subpath that exists for it, so a consumer without that peer type-checks.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Optional peers, and the directories under dist/ (and dist/cjs/) whose declarations may import them. */
const OPTIONAL_PEER_DIRECTORIES = {
  // Never loaded: the dispatcher finds the application's EventEmitter2 among its providers by class name.
  '@nestjs/event-emitter': [],
  '@nestjs/terminus': ['terminus'],
  '@opentelemetry/api': [],
  ioredis: [],
  // The probes type the objects they are given structurally and import none of these packages.
  mongodb: [],
  // Loaded by the email channel with import() when SMTP settings are given; its types are declared structurally.
  nodemailer: [],
  pg: [],
  typeorm: [],
};

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const tmp = await mkdtemp(join(tmpdir(), 'nestjs-audit-alert-pack-'));
const failures = [];
try {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
      cwd: root,
      encoding: 'utf8',
    }),
  );
  const tarball = join(tmp, packed.filename);

  const { messages } = await publint({
    pkgDir: 'package',
    strict: true,
    pack: { tarball: (await readFile(tarball)).buffer },
  });
  for (const message of messages) failures.push(`publint: ${formatMessage(message, pkg)}`);

  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--format', 'ascii'],
      {
        encoding: 'utf8',
      },
    );
  } catch (error) {
    failures.push(`attw:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
  }

  const peers = Object.keys(pkg.peerDependencies ?? {});
  const optional = new Set(Object.keys(pkg.peerDependenciesMeta ?? {}));
  for (const name of optional) {
    if (!(name in OPTIONAL_PEER_DIRECTORIES))
      failures.push(`import check: optional peer ${name} has no entry in tools/check-package.mjs`);
  }
  const builtins = new Set(builtinModules);
  for (const { path } of packed.files.filter((file) => file.path.endsWith('.d.ts'))) {
    const text = await readFile(join(root, path), 'utf8');
    const subdirectory = path.replace(/^dist\/(cjs\/)?/, '').split('/')[0];
    for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.')) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      if (specifier.startsWith('node:') || builtins.has(name)) continue;
      if (!peers.includes(name)) {
        failures.push(`import check: ${path} imports ${specifier}, which is not a peer dependency`);
      } else if (optional.has(name) && !OPTIONAL_PEER_DIRECTORIES[name].includes(subdirectory)) {
        failures.push(`import check: ${path} imports the optional peer ${specifier} outside its subpath`);
      }
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('package checks passed: publint, attw, declaration imports');

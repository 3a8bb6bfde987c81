// Writes src/package-manifest.ts from package.json, so the sources carry the name and version as constants:
// shared by the ESM and CommonJS builds, neither of which can then depend on `import.meta` to find the manifest.
import { readFile, writeFile } from 'node:fs/promises';

const root = new URL('../', import.meta.url);
const { name, version } = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
const target = new URL('src/package-manifest.ts', root);
const source = `// Generated from package.json by tools/write-package-manifest.mjs (run by \`npm run build\`); do not edit.

/** This package's name, as published. */
export const PACKAGE_NAME = ${JSON.stringify(name).replaceAll('"', "'")};

/** This package's version, as published. */
export const PACKAGE_VERSION = ${JSON.stringify(version).replaceAll('"', "'")};
`;
const current = await readFile(target, 'utf8').catch(() => '');
if (current !== source) await writeFile(target, source);

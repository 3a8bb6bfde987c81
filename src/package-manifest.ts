import { createRequire } from 'node:module';

// Resolved against this file, so it finds the package's own manifest from src/ (tests) and from dist/ alike.
const manifest = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** This package's name, as published. */
export const PACKAGE_NAME = manifest.name;

/** This package's version, as published. */
export const PACKAGE_VERSION = manifest.version;

// Generated from package.json by tools/write-package-manifest.mjs (run by `npm run build`); do not edit.

/** This package's name, as published. */
export const PACKAGE_NAME = 'nestjs-audit-alert';

/** This package's version, as published. */
export const PACKAGE_VERSION = '0.1.0';

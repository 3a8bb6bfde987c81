/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  injectGlobals: false,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // Projects installed and tested by test/compat/packaging.spec.ts with their own runners.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/compat/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  testTimeout: 30000,
};

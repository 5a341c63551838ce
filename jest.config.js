/** ESM + ts-jest (`useESM`, run with --experimental-vm-modules). Transpile-only: `npm run typecheck` does the type check. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // Finds Chromium for test/e2e, or installs Debian's package once (as root with apt-get).
  globalSetup: '<rootDir>/test/support/chromium.ts',
  maxWorkers: 2,
  // Each worker ends with ~400–450 MB of heap (23 suites' module graphs). Measured on the 2-core CI
  // box: both workers fire 'exit' within 0–7 ms of jest's end request with no handle left (only the
  // IPC/stdio pipes), but tearing the process down afterwards can exceed jest's default 500 ms, which
  // jest then reports as "failed to exit gracefully". A handle that truly leaks still trips this.
  workerGracefulExitTimeout: 3000,
};

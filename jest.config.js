// Tests are compiled by `tsc` (npm's pretest) and run from dist/, so worker
// threads, the CLI and the tests all execute the same JavaScript.
module.exports = {
  rootDir: 'dist/test',
  testMatch: ['**/*.test.js'],
  testEnvironment: 'node',
  testTimeout: 60000,
  // Installs the pinned Envoy versions, Helm and kustomize, the Collector and the ClickHouse clients (cached) before any worker starts.
  globalSetup: '<rootDir>/global-setup.js',
  // chdb allows one data directory per process: every test file gets its own worker process.
  maxWorkers: 2,
  verbose: false,
};

// `npm run test:cluster`: the end-to-end suites and test/cluster/ on a real Temporal cluster
// (PostgreSQL, four services) with S3 storage on MinIO and two worker processes per test.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/bulk-conversion.test.ts',
    '<rootDir>/test/video-generation.test.ts',
    '<rootDir>/test/webhook-delivery.test.ts',
    '<rootDir>/test/cluster/**/*.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
  testTimeout: 300000,
};

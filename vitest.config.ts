import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Stops at once, with one message naming what to install, when redis-server, redis-cli or
    // Chromium is missing, instead of failing test by test with spawn errors and timeouts.
    globalSetup: ['test/setup/prerequisites.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

import { defineConfig } from 'vitest/config';

// On the node24 stack (scripts/test.mjs) the Redis suites run against ioredis 6, installed as
// the `ioredis6` alias; every `import ... from 'ioredis'` in tests and sources gets it.
const ioredis6 = process.env.GAPLESS_STACK === 'node24';

export default defineConfig({
  resolve: ioredis6 ? { alias: [{ find: /^ioredis$/, replacement: 'ioredis6' }] } : {},
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Stops at once, with one message naming what to install, when redis-server, redis-cli or
    // Chromium is missing, instead of failing test by test with spawn errors and timeouts.
    globalSetup: ['test/setup/prerequisites.ts'],
    exclude: ['**/node_modules/**', 'test/stacks/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

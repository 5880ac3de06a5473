import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser, Bun and Deno tests: npm run test:runtimes.
    exclude: ['test/runtimes/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});

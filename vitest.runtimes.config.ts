import { defineConfig } from 'vitest/config';

// `npm run test:runtimes`: the browser build in headless Chromium, and the
// core subset in Bun and Deno. Apart from `npm test`, which stays on Node.
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

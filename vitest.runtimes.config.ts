import { defineConfig } from 'vitest/config';

// `npm run test:runtimes`: the browser build in headless Chromium, the core
// subset in Bun and Deno, and webSocket() through the real websockify. Apart
// from `npm test`, which needs none of those programs installed.
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

// `npm run test:no-internals`: every test file that runs TLS, again, with
// WIRESTACK_NODE_INTERNALS=0, so that the public-API-only paths of the TLS
// layer (filters/tls/internals.ts) pass the same tests as the fast ones.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  test: {
    ...base.test,
    include: ['test/tls*.test.ts', 'test/faults.test.ts', 'test/properties.test.ts'],
    env: { WIRESTACK_NODE_INTERNALS: '0' },
  },
});

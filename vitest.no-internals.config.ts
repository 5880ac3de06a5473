// `npm run test:no-internals`: the test files that run the node engine's
// TLS, again, with WIRESTACK_NODE_INTERNALS=0, so that the public-API-only
// paths of the TLS layer (filters/tls/internals.ts) pass the same tests as
// the fast ones. Left out, to keep the second run short: the forge-only
// conformance suite (no node engine in it) and the property tests (21 s;
// tls-conformance runs the same paths through checkFilter).
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  test: {
    ...base.test,
    include: ['test/tls*.test.ts', 'test/faults.test.ts'],
    exclude: ['test/tls-forge-conformance.test.ts'],
    env: { WIRESTACK_NODE_INTERNALS: '0' },
  },
});

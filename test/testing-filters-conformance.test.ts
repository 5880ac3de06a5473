// The testing filters keep the core's rules: the filter conformance suite
// on each, over memory (faults configured past the end of the traffic, so
// that only their plumbing is checked).
import { describe, it } from 'vitest';
import type { Filter } from '../lib/index.js';
import { delay, fault, filterChecks, fragment, record, throttle } from '../lib/testing/index.js';

const FILTERS: Record<string, () => Filter> = {
  fragment: () => fragment({ seed: 5, min: 1, max: 3000 }),
  delay: () => delay({ ms: 0, jitter: 1, seed: 5 }),
  throttle: () => throttle(256 << 20),
  fault: () => fault({ corruptAt: [2 ** 40], stallAt: 2 ** 40, direction: 'both' }),
  record: () => record(),
};

for (const [name, make] of Object.entries(FILTERS)) {
  describe(`checkFilter: ${name}`, () => {
    const checks = filterChecks(() => ({ client: make(), server: make() }), {
      seed: 20261126, bigTransferBytes: 2 << 20, roundTripBytes: 256 << 10,
    });
    for (const check of checks) it(check.name, () => check.run());
  });
}

import type { Filter } from '../lib/filter.js';
import { Layer } from '../lib/layer.js';

/**
 * A filter whose layer passes every byte through unchanged. Useful to test
 * stacks, as a placeholder, and as the smallest example of a filter.
 */
export function identity(name = 'identity'): Filter {
  return { name, attach: (lower) => new Layer(lower, { name, removable: true }) };
}

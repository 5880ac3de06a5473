import { WirestackError } from '../../lib/errors.js';
import type { Filter } from '../../lib/filter.js';
import type { Duplex } from '../../lib/stream.js';
import { Random } from '../../lib/testing/random.js';
import type { Direction } from './direction.js';
import { PacedLayer } from './paced-layer.js';

/** Options for {@link delay}. */
export interface DelayOptions {
  /** Fixed latency added to every chunk, in milliseconds (default 0). */
  ms?: number;
  /** Up to this many more milliseconds, drawn per chunk from the seeded generator. */
  jitter?: number;
  /** Seed for the jitter (default 1); the same seed gives the same delays. */
  seed?: number;
  /** Which way to delay (default `'both'`). */
  direction?: Direction;
}

/**
 * A filter that adds latency: every chunk is held for `ms` milliseconds plus
 * a seeded random jitter, in order (jitter never reorders bytes). Writes
 * complete at once while less than a high-water mark is held, as on a real
 * link, so the delay is latency, not a bandwidth limit.
 *
 * @example
 * ```ts
 * // Does my client's request timeout fire when the server is 300 ms away?
 * const [a, b] = duplexPair();
 * const client = wrap(a, [delay({ ms: 150, jitter: 20, seed: 3 })], { role: 'client' });
 * serveEcho(wrap(b, [], { role: 'server' }));
 * await expect(myRequest(client, { timeout: 100 })).rejects.toThrow(/timeout/);
 * ```
 */
export function delay(options: number | DelayOptions, name = 'delay'): Filter {
  const { ms = 0, jitter = 0, seed = 1, direction = 'both' } = typeof options === 'number' ? { ms: options } : options;
  if (!(ms >= 0) || !(jitter >= 0) || !Number.isFinite(ms + jitter)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `delay(): ms and jitter must be finite and ≥ 0`, { layer: name });
  }
  return { name, attach: (lower) => new DelayLayer(lower, name, direction, ms, jitter, seed) };
}

/** The layer {@link delay} makes. */
class DelayLayer extends PacedLayer {
  readonly #ms: number;
  readonly #jitter: number;
  // One generator per connection, so each connection replays from the seed.
  readonly #random: Random;

  constructor(lower: Duplex, name: string, direction: Direction, ms: number, jitter: number, seed: number) {
    super(lower, name, direction);
    this.#ms = ms;
    this.#jitter = jitter;
    this.#random = new Random(seed);
  }

  protected dueTime(_side: 'in' | 'out', _bytes: number, now: number): number {
    return now + this.#ms + (this.#jitter > 0 ? this.#random.next() * this.#jitter : 0);
  }
}

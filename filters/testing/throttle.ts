import { WirestackError } from '../../lib/errors.js';
import type { Filter } from '../../lib/filter.js';
import type { Duplex } from '../../lib/stream.js';
import type { Direction } from './direction.js';
import { PacedLayer } from './paced-layer.js';

/** Options for {@link throttle}. */
export interface ThrottleOptions {
  /** Which way to limit (default `'both'`, each direction at the full rate). */
  direction?: Direction;
}

/**
 * A filter that limits bandwidth to `bytesPerSecond` in each direction: a
 * slow link. Bytes go on in slices of about a twentieth of a second's worth,
 * so the flow is smooth; the writer feels backpressure once a high-water
 * mark is queued, and a fast peer is paused, so memory stays bounded.
 *
 * @example
 * ```ts
 * // Does my upload show progress and finish over a 64 KiB/s link?
 * const [a, b] = duplexPair();
 * const client = wrap(a, [throttle(64 * 1024)], { role: 'client' });
 * const server = wrap(b, [], { role: 'server' });
 * const progress = await myUpload(client, Buffer.alloc(256 * 1024));
 * expect(progress.length).toBeGreaterThan(1);
 * ```
 */
export function throttle(bytesPerSecond: number, options: ThrottleOptions = {}, name = 'throttle'): Filter {
  if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `throttle(): bytesPerSecond must be a positive number, got ${bytesPerSecond}`, { layer: name });
  }
  const direction = options.direction ?? 'both';
  return { name, attach: (lower) => new ThrottleLayer(lower, name, direction, bytesPerSecond) };
}

/** The layer {@link throttle} makes. */
class ThrottleLayer extends PacedLayer {
  readonly #rate: number;
  // The largest slice timed as one piece.
  readonly #slice: number;

  constructor(lower: Duplex, name: string, direction: Direction, bytesPerSecond: number) {
    super(lower, name, direction);
    this.#rate = bytesPerSecond;
    this.#slice = Math.max(1, Math.min(16 * 1024, Math.floor(bytesPerSecond / 20)));
  }

  protected override pieces(chunk: Buffer): Buffer[] {
    if (chunk.length <= this.#slice) return [chunk];
    const pieces: Buffer[] = [];
    for (let i = 0; i < chunk.length; i += this.#slice) pieces.push(chunk.subarray(i, i + this.#slice));
    return pieces;
  }

  // A piece leaves when the link has finished sending the ones before it.
  protected dueTime(_side: 'in' | 'out', bytes: number, _now: number, linkFree: number): number {
    return linkFree + (bytes * 1000) / this.#rate;
  }
}

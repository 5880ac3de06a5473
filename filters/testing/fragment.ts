import { WirestackError } from '../../lib/errors.js';
import type { Filter } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import type { Duplex } from '../../lib/stream.js';
import { Random } from '../../lib/testing/random.js';
import { type Direction, actsOn } from './direction.js';

/** Seeded random fragmentation for {@link fragment}. */
export interface RandomFragments {
  /** The seed; the same seed cuts the same stream the same way. */
  seed: number;
  /** Smallest piece (default 1). */
  min?: number;
  /** Largest piece (default 4096). */
  max?: number;
  /** Which way to cut (default `'both'`). */
  direction?: Direction;
}

/** Fixed piece sizes for {@link fragment}, used in turn, in one direction. */
export interface ListedFragments {
  /** The sizes, used in turn. */
  sizes: readonly number[];
  /** Which way to cut (default `'both'`). */
  direction?: Direction;
}

/** How {@link fragment} cuts: one size, sizes used in turn, or seeded random sizes. */
export type FragmentSpec = number | readonly number[] | ListedFragments | RandomFragments;

type Callback = (err?: Error | null) => void;

/**
 * A filter that cuts the byte stream into pieces and hands each piece on as
 * its own write (going down) or its own chunk (coming up), so that a
 * protocol above sees its messages split at every possible place. Bytes and
 * their order are unchanged.
 *
 * `fragment(1)` cuts to single bytes; `fragment([1, 5, 100])` uses the sizes
 * in turn (`{ sizes, direction: 'in' }` cuts only what comes up); `fragment({ seed: 7, min: 1, max: 300 })` uses seeded random sizes
 * (print the seed when a test fails, and the failure replays).
 *
 * @example
 * ```ts
 * // Does my line protocol parse a command split at every byte?
 * const [a, b] = duplexPair();
 * const client = wrap(a, [], { role: 'client' });
 * const server = wrap(b, [fragment(1)], { role: 'server' });
 * await client.send('PING 42\r\n');
 * expect(await readLine(server)).toBe('PING 42');
 * ```
 */
export function fragment(spec: FragmentSpec, name = 'fragment'): Filter {
  const sizes = validate(spec);
  const direction = typeof spec === 'object' && !Array.isArray(spec) ? (spec as RandomFragments | ListedFragments).direction ?? 'both' : 'both';
  return { name, attach: (lower) => new FragmentLayer(lower, name, sizes, direction) };
}

// A source of piece sizes: a fixed list in turn, or a seeded random stream.
type Sizes = { list: readonly number[] } | { seed: number; min: number; max: number };

function validate(spec: FragmentSpec): Sizes {
  const bad = (why: string): WirestackError =>
    new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `fragment(): ${why}`, { layer: 'fragment' });
  if (typeof spec === 'number') spec = [spec];
  if (typeof spec === 'object' && 'sizes' in spec) spec = spec.sizes;
  if (Array.isArray(spec)) {
    const list = spec as readonly number[];
    if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= 1)) throw bad('sizes must be whole numbers ≥ 1');
    return { list };
  }
  const { seed, min = 1, max = 4096 } = spec as RandomFragments;
  if (!Number.isInteger(seed)) throw bad('seed must be a whole number');
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) throw bad('need 1 ≤ min ≤ max');
  return { seed, min, max };
}

// Hands out the next piece size; one per direction, so each direction's cuts
// depend only on its own bytes.
function sizer(sizes: Sizes, salt: number): () => number {
  if ('list' in sizes) {
    let i = 0;
    return () => sizes.list[i++ % sizes.list.length]!;
  }
  const random = new Random((sizes.seed ^ salt) >>> 0);
  return () => random.size(sizes.min, sizes.max);
}

/** The layer {@link fragment} makes. */
class FragmentLayer extends Layer {
  // Next piece size going down / coming up; undefined where this direction is left alone.
  readonly #outSize: (() => number) | undefined;
  readonly #inSize: (() => number) | undefined;

  constructor(lower: Duplex, name: string, sizes: Sizes, direction: Direction) {
    super(lower, { name, removable: true });
    this.#outSize = actsOn(direction, 'out') ? sizer(sizes, 0x6f757421) : undefined;
    this.#inSize = actsOn(direction, 'in') ? sizer(sizes, 0x696e2121) : undefined;
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    const next = this.#outSize;
    if (!next) return this.sendDown(chunks, done);
    // One write per piece, not one corked batch: the point is that the
    // stream below sees the pieces apart.
    for (const chunk of chunks) for (const piece of cut(chunk, next)) this.writeDown([piece]);
    this.whenLowerDrains(done);
  }

  protected override transformIn(chunk: Buffer): void {
    const next = this.#inSize;
    if (!next) return void this.pushUp(chunk);
    // Every piece is pushed even when the layer above is full: at most one
    // chunk from below is held, and pushUp() has already paused the source.
    for (const piece of cut(chunk, next)) this.pushUp(piece);
  }
}

function cut(chunk: Buffer, next: () => number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < chunk.length;) {
    const n = next();
    pieces.push(chunk.subarray(i, i + n));
    i += n;
  }
  return pieces;
}

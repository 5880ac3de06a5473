import { toWirestackError } from './errors.js';
import type { Filter } from './filter.js';
import { Layer } from './layer.js';
import type { Duplex } from './stream.js';

/** What {@link fromTransforms} needs: a name and a Transform factory per direction. */
export interface TransformsSpec {
  /** The layer's name, shown in `conn.layers` and on its errors. */
  readonly name: string;
  /** Makes the stream that writes pass through on their way down (one per connection). */
  outbound(): Duplex;
  /** Makes the stream that reads pass through on their way up (one per connection). */
  inbound(): Duplex;
  /** High-water mark of the layer's upper side. */
  readonly highWaterMark?: number;
}

/**
 * Makes a filter from a pair of Transform factories, one per direction, for
 * the many filters that are just that. Backpressure, half-close, errors and
 * teardown come from {@link Layer}.
 *
 * @example
 * ```ts
 * const gzip = fromTransforms({
 *   name: 'gzip',
 *   outbound: () => zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH }),
 *   inbound: () => zlib.createGunzip(),
 * });
 * ```
 */
export function fromTransforms(spec: TransformsSpec): Filter {
  return {
    name: spec.name,
    attach: (lower) => new TransformsLayer(lower, spec),
  };
}

/** The layer {@link fromTransforms} makes: the two transforms wired to the stream below and the layer above. */
class TransformsLayer extends Layer {
  // Writes from above go in here; what comes out goes below.
  readonly #out: Duplex;
  // Bytes from below go in here; what comes out goes above.
  readonly #in: Duplex;

  constructor(lower: Duplex, spec: TransformsSpec) {
    super(lower, { name: spec.name, ...(spec.highWaterMark === undefined ? {} : { highWaterMark: spec.highWaterMark }) });
    this.#out = spec.outbound();
    this.#in = spec.inbound();
    const fail = (err: Error): void => {
      this.destroy(toWirestackError(err, this.name));
    };
    this.#out.on('error', fail);
    this.#in.on('error', fail);
    this.#out.on('data', (chunk: Buffer) => {
      if (!this.writeDown([chunk])) {
        this.#out.pause();
        this.whenLowerDrains(() => this.#out.resume());
      }
    });
    this.#in.on('data', (chunk: Buffer) => this.pushUp(chunk));
    this.#in.on('end', () => this.pushUp(null));
  }

  protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
    let room = true;
    for (const chunk of chunks) room = this.#out.write(chunk);
    if (room) done();
    else this.#out.once('drain', () => done());
  }

  protected override transformIn(chunk: Buffer): void {
    // The inbound transform is full: stop reading from below until it drains.
    if (!this.#in.write(chunk)) {
      this.pauseLower();
      this.#in.once('drain', () => this.resumeLower());
    }
  }

  protected override finishOut(done: (err?: Error | null) => void): void {
    this.#out.once('end', () => done());
    this.#out.end();
  }

  protected override finishIn(): void {
    this.#in.end();
  }

  // The upper side is fed by the inbound transform, so that is what pauses.
  protected override pauseSource(): void {
    this.#in.pause();
  }

  protected override resumeSource(): void {
    this.#in.resume();
  }

  protected override teardown(): void {
    this.#out.destroy();
    this.#in.destroy();
  }
}

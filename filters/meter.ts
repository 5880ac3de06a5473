import type { Filter } from '../lib/filter.js';
import { Layer } from '../lib/layer.js';
import { throughput, type Throughput } from '../lib/stats.js';
import type { Duplex } from '../lib/stream.js';

/** Options for {@link meter}. */
export interface MeterOptions {
  /** The layer's name in `conn.layers` (default `'meter'`). */
  name?: string;
}

/** What a meter has seen: counts each way and the average throughput. */
export interface MeterReading extends Throughput {
  /** Bytes read from below. */
  readonly bytesIn: number;
  /** Bytes written below. */
  readonly bytesOut: number;
  /** Chunks read from below. */
  readonly chunksIn: number;
  /** Chunks (or writev batches) written below. */
  readonly chunksOut: number;
}

/**
 * A filter that changes nothing and counts what crosses it: bytes and
 * chunks each way, and throughput. Its counts are the layer's own
 * {@link LayerStats} — the ones `conn.layers` lists — not a second count.
 * Put it where you want to measure: directly above the raw connection for
 * bytes on the wire, above TLS for plaintext. Removable with `conn.pop()`.
 *
 * @example
 * ```ts
 * const conn = wrap(socket, [meter({ name: 'wire' }), tls.client({ ca }), meter({ name: 'app' })]);
 * // … later
 * const wire = conn.layers.find((l) => l.name === 'wire')!;
 * console.log(wire.bytesIn, throughput(wire.stats!).bytesInPerSecond);
 * // or: (conn.layer('wire') as MeterLayer).reading()
 * ```
 */
export function meter(options: MeterOptions = {}): Filter {
  const name = options.name ?? 'meter';
  return { name, attach: (lower) => new MeterLayer(lower, name) };
}

/** The meter's layer: a pass-through whose clock stops when the connection closes. */
export class MeterLayer extends Layer {
  // performance.now() when the layer was torn down; throughput is averaged up to it.
  #closedAt: number | null = null;

  /** @internal Made by {@link meter}. */
  constructor(lower: Duplex, name: string) {
    super(lower, { name, removable: true });
  }

  /** The counts so far and the average throughput, up to now or to the close. */
  reading(): MeterReading {
    const { bytesIn, bytesOut, chunksIn, chunksOut } = this.stats;
    return { bytesIn, bytesOut, chunksIn, chunksOut, ...throughput(this.stats, this.#closedAt ?? performance.now()) };
  }

  protected override teardown(): void {
    this.#closedAt = performance.now();
  }
}

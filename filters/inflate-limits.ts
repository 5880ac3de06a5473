/**
 * The deflate filter's limits on inflation, kept apart from the codecs so
 * that the zlib layer and its browser twin (pako) count alike: bytes one
 * chunk from below inflates to, and the ratio of inflated to compressed
 * bytes over the connection.
 */
import type { DeflateSettings } from './deflate.js';

// The ratio says little about a few small messages; it is checked past this.
const RATIO_FLOOR_BYTES = 1024 * 1024;

/** Counts compressed bytes in and inflated bytes out against the settings' limits. */
export class InflateLimits {
  readonly #maxInflatedBytes: number;
  readonly #maxRatio: number;
  // Compressed bytes given to the inflater, and inflated bytes taken from it.
  #compressedIn = 0;
  #inflatedOut = 0;
  // Inflated bytes since the current chunk from below went in.
  #inflatedThisChunk = 0;

  constructor(settings: DeflateSettings) {
    this.#maxInflatedBytes = settings.maxInflatedBytes;
    this.#maxRatio = settings.maxRatio;
  }

  /** Compressed bytes given to the inflater. */
  get compressedIn(): number {
    return this.#compressedIn;
  }

  /** A chunk from below goes into the inflater (`newChunk`: a new one, so the per-chunk count starts again). */
  compressed(bytes: number, newChunk: boolean): void {
    if (newChunk) this.#inflatedThisChunk = 0;
    this.#compressedIn += bytes;
  }

  /** Inflated bytes came out; returns why that is past a limit, or null. */
  inflated(bytes: number): string | null {
    this.#inflatedOut += bytes;
    this.#inflatedThisChunk += bytes;
    if (this.#inflatedThisChunk > this.#maxInflatedBytes) {
      return `one chunk of compressed input inflated past maxInflatedBytes (${this.#maxInflatedBytes})`;
    }
    if (this.#inflatedOut > RATIO_FLOOR_BYTES && this.#inflatedOut > this.#maxRatio * this.#compressedIn) {
      return `input inflated ${Math.round(this.#inflatedOut / this.#compressedIn)} times its size, past maxRatio (${this.#maxRatio})`;
    }
    return null;
  }
}

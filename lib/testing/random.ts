/**
 * A small seeded pseudo-random generator (mulberry32), so that every random
 * choice a test makes can be replayed from its seed.
 */
export class Random {
  /** The seed this generator started from; failure messages print it. */
  readonly seed: number;
  #state: number;

  constructor(seed: number = (Math.random() * 2 ** 32) >>> 0) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * A size in [min, max] spread evenly over orders of magnitude, so that
   * 1-byte and 64 KiB pieces are both common.
   */
  size(min: number, max: number): number {
    const lo = Math.log(min);
    const hi = Math.log(max + 1);
    return Math.min(max, Math.floor(Math.exp(lo + this.next() * (hi - lo))));
  }

  /** Bytes from this generator (cheap, reproducible, not cryptographic). */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE((this.next() * 4294967296) >>> 0, i);
    for (; i < n; i++) out[i] = (this.next() * 256) >>> 0;
    return out;
  }

  /** Cuts `chunk` into pieces of random sizes between `min` and `max`. */
  split(chunk: Buffer, min: number, max: number): Buffer[] {
    const pieces: Buffer[] = [];
    for (let i = 0; i < chunk.length;) {
      const n = this.size(min, max);
      pieces.push(chunk.subarray(i, i + n));
      i += n;
    }
    return pieces;
  }
}

/**
 * The browser twin of deflate-layer.ts: the deflate filter's layer on pako
 * (zlib ported to JavaScript), where there is no node:zlib. Its framing is
 * the zlib layer's, byte for byte (the same algorithm at the same level), so
 * either end may be either: raw DEFLATE (RFC 1951), every write (or corked
 * batch) ended by a sync flush (an empty stored block, on a byte boundary,
 * the dictionary kept), and `end()` sending the final block.
 * CompressionStream('deflate-raw') cannot flush on demand, and fflate's
 * flush (0.8.3) writes blocks zlib rejects, so neither keeps that promise.
 * pako works synchronously, so the inflater is fed small slices of input and
 * the limits are checked after each one: a decompression bomb is caught
 * after at most one slice's worth of output.
 */
import { Deflate, Inflate } from 'pako';
import { WirestackError } from '../lib/errors.js';
import { Layer } from '../lib/layer.js';
import { unsupportedRuntime } from '../lib/runtime.js';
import type { Duplex } from '../lib/stream.js';
import type { DeflateSettings } from './deflate.js';
import { InflateLimits } from './inflate-limits.js';

// Compressed bytes given to the inflater at a time: at DEFLATE's largest
// ratio (about 1032:1) a slice inflates to at most about 4 MiB.
const INFLATE_SLICE = 4 * 1024;
// zlib's default level, and its flush modes.
const DEFAULT_LEVEL = 6;
const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

/** Throws if this build cannot compress with `algorithm`: brotli needs node:zlib. */
export function checkAlgorithm(algorithm: DeflateSettings['algorithm']): void {
  if (algorithm === 'brotli') throw unsupportedRuntime("deflate({ algorithm: 'brotli' })", 'node:zlib', "use algorithm: 'deflate'");
}

/** The deflate filter's layer: a compressor on the way down, an inflater on the way up. */
export class DeflateLayer extends Layer {
  readonly #limits: InflateLimits;
  readonly #compressor: Deflate;
  readonly #inflater: Inflate;

  // ── writes going down ──
  // What the compressor made for the batch being compressed (pako hands it over synchronously).
  #compressed: Buffer[] = [];

  // ── reads coming up ──
  // Compressed input not yet given to the inflater: the rest of a chunk while the layer above is full.
  #input: Buffer[] = [];
  // Set when the stream below has ended: the inflater is finished once #input is empty.
  #inputEnded = false;
  // Set once the final block has been inflated: any byte after it is an error.
  #inflaterDone = false;
  // Set while this layer holds the stream below paused, because #input is not empty.
  #inputPaused = false;
  // Set when a chunk from below has come in and none of it has gone to the inflater yet.
  #newChunk = false;

  constructor(lower: Duplex, name: string, settings: DeflateSettings) {
    super(lower, { name });
    checkAlgorithm(settings.algorithm);
    this.#limits = new InflateLimits(settings);
    this.#compressor = new Deflate({ raw: true, level: settings.level ?? DEFAULT_LEVEL });
    this.#compressor.onData = (chunk) => {
      // Copied: a short piece would otherwise keep pako's whole 16 KiB output buffer alive.
      if (chunk.length > 0) this.#compressed.push(Buffer.from(chunk));
    };
    this.#inflater = new Inflate({ raw: true });
    this.#inflater.onData = (chunk) => this.#onInflated(chunk);
    this.#inflater.onEnd = () => {
      this.#inflaterDone = true;
    };
  }

  // ── writes going down ───────────────────────────────────────────────────

  protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
    // A sync flush ends the block on a byte boundary but keeps the
    // dictionary, so later messages still compress against earlier ones.
    chunks.forEach((chunk, i) => this.#compressor.push(chunk, i === chunks.length - 1 ? Z_SYNC_FLUSH : false));
    this.sendDown(this.#takeCompressed(), done);
  }

  protected override finishOut(done: (err?: Error | null) => void): void {
    this.#compressor.push(new Uint8Array(0), Z_FINISH);
    this.sendDown(this.#takeCompressed(), done);
  }

  #takeCompressed(): Buffer[] {
    const out = this.#compressed;
    this.#compressed = [];
    return out;
  }

  // ── reads coming up ─────────────────────────────────────────────────────

  protected override transformIn(chunk: Buffer): void {
    this.#newChunk = true;
    this.#input.push(chunk);
    this.#inflate();
  }

  protected override finishIn(): void {
    this.#inputEnded = true;
    this.#inflate();
  }

  // Gives the inflater slices of the input while the layer above has room.
  #inflate(): void {
    while (this.#input.length > 0 && !this.upperFull && !this.destroyed) {
      const chunk = this.#input[0]!;
      const slice = chunk.subarray(0, INFLATE_SLICE);
      if (slice.length === chunk.length) this.#input.shift();
      else this.#input[0] = chunk.subarray(slice.length);
      if (this.#inflaterDone) return this.#fail('ERR_WIRESTACK_INFLATE', `${slice.length + this.#inputBytes()} bytes after the end of the compressed stream`);
      this.#limits.compressed(slice.length, this.#newChunk);
      this.#newChunk = false;
      // Flushed, so every byte it can make from the slice comes out now.
      this.#inflater.push(slice, Z_SYNC_FLUSH);
      if (this.destroyed) return;
      if (this.#inflater.err) return this.#fail('ERR_WIRESTACK_INFLATE', `corrupt compressed input (${this.#inflater.msg})`);
      const unread = (this.#inflater as unknown as { strm: { avail_in: number } }).strm.avail_in;
      if (this.#inflaterDone && unread > 0) {
        return this.#fail('ERR_WIRESTACK_INFLATE', `${unread + this.#inputBytes()} bytes after the end of the compressed stream`);
      }
    }
    if (this.destroyed) return;
    // Input waits here while the layer above is full: hold the stream below until it is through.
    if (this.#input.length > 0 && !this.#inputPaused) {
      this.#inputPaused = true;
      this.pauseLower();
    } else if (this.#input.length === 0 && this.#inputPaused) {
      this.#inputPaused = false;
      this.resumeLower();
    }
    if (this.#input.length === 0 && this.#inputEnded) {
      // The stream below ended: a compressed stream without its final block was cut short.
      if (!this.#inflaterDone) return this.#fail('ERR_WIRESTACK_INFLATE', 'the compressed stream ended before its final block');
      this.pushUp(null);
    }
  }

  #onInflated(chunk: Uint8Array): void {
    if (this.destroyed || chunk.length === 0) return;
    const limit = this.#limits.inflated(chunk.length);
    if (limit !== null) return this.#fail('ERR_WIRESTACK_INFLATE_LIMIT', limit);
    this.pushUp(Buffer.from(chunk));
  }

  #inputBytes(): number {
    let bytes = 0;
    for (const chunk of this.#input) bytes += chunk.length;
    return bytes;
  }

  #fail(code: 'ERR_WIRESTACK_INFLATE' | 'ERR_WIRESTACK_INFLATE_LIMIT', message: string): void {
    this.destroy(new WirestackError(code, `${this.name}: ${message}`, { layer: this.name }));
  }

  protected override resumeSource(): void {
    this.#inflate();
  }

  // The layer above is fed from #input, which #inflate stops feeding while it is full.
  protected override pauseSource(): void {}
}

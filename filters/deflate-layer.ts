/**
 * The deflate filter's layer on Node's zlib (deflate and brotli). The
 * browser build takes its twin, deflate-layer.browser.ts (fflate, deflate
 * only), whose output and input are the same raw DEFLATE stream, a flushed
 * block per write.
 */
import zlib from 'node:zlib';
import { WirestackError, toWirestackError } from '../lib/errors.js';
import { Layer } from '../lib/layer.js';
import type { Duplex } from '../lib/stream.js';
import type { DeflateSettings } from './deflate.js';
import { InflateLimits } from './inflate-limits.js';

// Buffers inside the codecs: small, so that a paused reader holds little.
const CODEC_HIGH_WATER_MARK = 16 * 1024;

/** Throws if this build cannot compress with `algorithm` (this one has both). */
export function checkAlgorithm(_algorithm: DeflateSettings['algorithm']): void {}

/** The deflate filter's layer: a compressor on the way down, an inflater on the way up. */
export class DeflateLayer extends Layer {
  readonly #limits: InflateLimits;
  readonly #compressor: zlib.DeflateRaw | zlib.BrotliCompress;
  readonly #inflater: zlib.InflateRaw | zlib.BrotliDecompress;
  readonly #flushKind: number;

  // ── writes going down ──
  // Compressed output read from the compressor, not yet written below.
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  // Set while the stream below is full: the compressor's output waits in it.
  #waitingForLower = false;
  // The write callback of the batch being flushed; called once its block is below.
  #flushDone: ((err?: Error | null) => void) | null = null;
  // Set once the flush of the current batch has finished inside the compressor.
  #flushed = false;
  // finishOut's callback, set at end(): called once the final block is below.
  #finishDone: ((err?: Error | null) => void) | null = null;

  // ── reads coming up ──
  // Chunks read from below waiting for the inflater; it takes one at a time.
  readonly #input: Buffer[] = [];
  // Set while a chunk is inside the inflater.
  #inflating = false;
  // Set while this layer holds the stream below paused, because #input is not empty.
  #inputPaused = false;
  // Set while the layer above is full: the inflater's output is left in it.
  #upperFull = false;
  // Set when the stream below has ended: the inflater is ended once #input is empty.
  #inputEnded = false;

  constructor(lower: Duplex, name: string, settings: DeflateSettings) {
    super(lower, { name });
    this.#limits = new InflateLimits(settings);
    // zlib passes stream options on to its Transform; its types do not say so.
    const codec = { readableHighWaterMark: CODEC_HIGH_WATER_MARK, writableHighWaterMark: CODEC_HIGH_WATER_MARK } as zlib.ZlibOptions;
    if (settings.algorithm === 'brotli') {
      const params = settings.level === undefined ? {} : { [zlib.constants.BROTLI_PARAM_QUALITY]: settings.level };
      this.#compressor = zlib.createBrotliCompress({ ...(codec as zlib.BrotliOptions), params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, ...params } });
      this.#inflater = zlib.createBrotliDecompress(codec as zlib.BrotliOptions);
      this.#flushKind = zlib.constants.BROTLI_OPERATION_FLUSH;
    } else {
      this.#compressor = zlib.createDeflateRaw({ ...codec, ...(settings.level === undefined ? {} : { level: settings.level }) });
      this.#inflater = zlib.createInflateRaw(codec);
      // A sync flush ends the block on a byte boundary but keeps the
      // dictionary, so later messages still compress against earlier ones.
      this.#flushKind = zlib.constants.Z_SYNC_FLUSH;
    }
    this.#compressor.on('readable', this.#pumpOut);
    this.#compressor.on('end', this.#onCompressorEnd);
    this.#compressor.on('error', (err: Error) => this.destroy(toWirestackError(err, this.name)));
    this.#inflater.on('readable', this.#pumpIn);
    this.#inflater.on('end', this.#onInflaterEnd);
    this.#inflater.on('error', (err: Error) => {
      this.destroy(new WirestackError('ERR_WIRESTACK_INFLATE',
        `${this.name}: corrupt compressed input (${err.message})`, { layer: this.name, cause: err }));
    });
  }

  // ── writes going down ───────────────────────────────────────────────────

  protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
    this.#flushDone = done;
    this.#flushed = false;
    for (const chunk of chunks) this.#compressor.write(chunk);
    // The flush's callback runs once all its output is in the compressor's
    // buffer, so the block that follows is complete when #pumpOut empties it.
    this.#compressor.flush(this.#flushKind, () => {
      this.#flushed = true;
      this.#pumpOut();
    });
  }

  protected override finishOut(done: (err?: Error | null) => void): void {
    this.#finishDone = done;
    this.#compressor.end();
  }

  // Takes the compressor's output while the stream below has room; sends a
  // flushed block down as one batch, or part of it early when it is large.
  #pumpOut = (): void => {
    if (this.#waitingForLower || this.destroyed) return;
    for (let chunk = this.#compressor.read() as Buffer | null; chunk !== null; chunk = this.#compressor.read() as Buffer | null) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      // A large block goes down in parts, so the output held here stays under the high-water mark.
      if (this.#pendingBytes < this.highWaterMark) continue;
      if (this.writeDown(this.#takePending())) continue;
      this.#waitingForLower = true;
      this.whenLowerDrains(() => {
        this.#waitingForLower = false;
        this.#pumpOut();
      });
      return;
    }
    if (this.#flushed && this.#flushDone !== null) {
      const done = this.#flushDone;
      this.#flushDone = null;
      this.#flushed = false;
      this.#sendPending(done);
    }
  };

  #onCompressorEnd = (): void => {
    const done = this.#finishDone;
    this.#finishDone = null;
    if (done) this.#sendPending(done);
  };

  #sendPending(done: (err?: Error | null) => void): void {
    if (this.#pendingBytes === 0) done();
    else this.sendDown(this.#takePending(), done);
  }

  #takePending(): Buffer[] {
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return pending;
  }

  // ── reads coming up ─────────────────────────────────────────────────────

  protected override transformIn(chunk: Buffer): void {
    this.#input.push(chunk);
    if (this.#inflating && !this.#inputPaused) {
      // One chunk is in the inflater already: hold the rest of the stream
      // below until it is through, so the queue never grows past a chunk or two.
      this.#inputPaused = true;
      this.pauseLower();
    }
    this.#feedInflater();
  }

  protected override finishIn(): void {
    this.#inputEnded = true;
    this.#feedInflater();
  }

  #feedInflater(): void {
    if (this.#inflating || this.destroyed) return;
    const chunk = this.#input.shift();
    if (chunk === undefined) {
      if (this.#inputPaused) {
        this.#inputPaused = false;
        this.resumeLower();
      }
      if (this.#inputEnded) this.#inflater.end();
      return;
    }
    this.#inflating = true;
    this.#limits.compressed(chunk.length, true);
    this.#inflater.write(chunk, () => {
      this.#inflating = false;
      this.#feedInflater();
    });
  }

  // Moves inflated bytes up while the layer above has room, checking the limits first.
  #pumpIn = (): void => {
    while (!this.#upperFull && !this.destroyed) {
      const chunk = this.#inflater.read() as Buffer | null;
      if (chunk === null) return;
      const limit = this.#limits.inflated(chunk.length);
      if (limit !== null) {
        this.destroy(new WirestackError('ERR_WIRESTACK_INFLATE_LIMIT', `${this.name}: ${limit}`, { layer: this.name }));
        return;
      }
      this.pushUp(chunk);
    }
  };

  #onInflaterEnd = (): void => {
    // Bytes after the final block are not part of the compressed stream: the peer is confused or hostile.
    if (this.#inflater.bytesWritten < this.#limits.compressedIn) {
      this.destroy(new WirestackError('ERR_WIRESTACK_INFLATE',
        `${this.name}: ${this.#limits.compressedIn - this.#inflater.bytesWritten} bytes after the end of the compressed stream`,
        { layer: this.name }));
      return;
    }
    this.pushUp(null);
  };

  // The layer above is fed by the inflater, so that is what waits when it is full.
  protected override pauseSource(): void {
    this.#upperFull = true;
  }

  protected override resumeSource(): void {
    if (!this.#upperFull) return;
    this.#upperFull = false;
    this.#pumpIn();
  }

  protected override teardown(): void {
    this.#compressor.destroy();
    this.#inflater.destroy();
  }
}

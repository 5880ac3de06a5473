import { WirestackError, toWirestackError } from './errors.js';
import { LayerStats } from './stats.js';
import { Duplex } from './stream.js';

/** Options every layer takes. */
export interface LayerOptions {
  /** The layer's name, shown in `conn.layers` and on its errors. */
  name: string;
  /** High-water mark of the layer's upper side, both directions (default 64 KiB). */
  highWaterMark?: number;
  /** Whether `conn.pop()` may remove this layer (default false). */
  removable?: boolean;
}

type Callback = (err?: Error | null) => void;

/** The default high-water mark of every layer's upper side. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/**
 * The base of a layer: a Duplex whose lower side is the stream below it and
 * whose upper side is what the layer above reads and writes. It gets right,
 * once for every filter, backpressure both ways, writev batches, half-close,
 * destroy and error propagation through the whole stack, and a teardown that
 * runs exactly once.
 *
 * A subclass changes bytes by overriding {@link Layer.transformOut} (writes
 * going down) and {@link Layer.transformIn} (reads coming up), calling
 * {@link Layer.sendDown} and {@link Layer.pushUp}. Left alone, a layer passes
 * bytes through unchanged.
 *
 * @example
 * ```ts
 * class Rot13 extends Layer {
 *   protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void) {
 *     this.sendDown(chunks.map(rot13), done);
 *   }
 *   protected override transformIn(chunk: Buffer) {
 *     this.pushUp(rot13(chunk));
 *   }
 * }
 * const rot13Filter: Filter = { name: 'rot13', attach: (lower) => new Rot13(lower, { name: 'rot13' }) };
 * ```
 */
export class Layer extends Duplex {
  readonly name: string;
  /** Bytes and chunks through this layer's lower side; `conn.layers` and `meter()` read it. */
  readonly stats = new LayerStats();

  // The stream below. Replaced only when the layer is released by conn.pop().
  #lower: Duplex;
  // Whether conn.pop() may remove this layer without a protocol of its own.
  readonly #removable: boolean;
  // True while the upper readable buffer is full and the lower is paused; _read clears it.
  #lowerPaused = false;
  // The write callback held while the stream below is over its high-water mark.
  #awaitingDrain: Callback | null = null;
  // Set when the lower has emitted 'end': all it will ever send has reached transformIn.
  #lowerEnded = false;
  // Set when teardown() has run; it runs exactly once.
  #tornDown = false;
  // Set by release(): the layer gives its lower back instead of destroying it.
  #released = false;
  // Set between detachLower() and attachLower(): nothing below to pause or resume.
  #detached = false;
  // The callback of the write transformOut() is handling, until it is called;
  // destroy fails it, so a pending send() or write() never hangs.
  #inFlight: Callback | null = null;
  // Numbers writes, so a callback a subclass calls late (after destroy) is ignored.
  #writeSeq = 0;

  constructor(lower: Duplex, options: LayerOptions) {
    const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm });
    this.name = options.name;
    this.#removable = options.removable ?? false;
    this.#lower = lower;
    this.#listen(lower);
  }

  /** The stream directly below this layer. */
  get lower(): Duplex {
    return this.#lower;
  }

  /** Whether the stream below has ended its readable side. */
  protected get lowerEnded(): boolean {
    return this.#lowerEnded;
  }

  // ── hooks for subclasses ────────────────────────────────────────────────

  /**
   * Handles one write or one writev batch from above. Call `done` when the
   * bytes are accepted; {@link Layer.sendDown} does so once the stream below
   * has room. Empty writes never reach this hook.
   */
  protected transformOut(chunks: Buffer[], done: Callback): void {
    this.sendDown(chunks, done);
  }

  /** Handles one chunk read from below; call {@link Layer.pushUp} with what the layer above should read. */
  protected transformIn(chunk: Buffer): void {
    this.pushUp(chunk);
  }

  /** Runs at `end()` from above, before the stream below is ended: write any final bytes, then call `done`. */
  protected finishOut(done: Callback): void {
    done();
  }

  /** Runs when the stream below has ended; the default ends the upper readable side. */
  protected finishIn(): void {
    this.pushUp(null);
  }

  /**
   * Runs exactly once, however the layer ends: a clean close, an error, or a
   * destroy anywhere in the stack. `error` is the failure, if there was one.
   */
  protected teardown(error: Error | null): void {
    void error;
  }

  /**
   * Finishes this layer's own shutdown so that `conn.pop()` can remove it,
   * and returns bytes it read from below that belong to the stream below.
   * The default works for layers that keep no state between bytes (made
   * with `removable: true`); others reject with `ERR_WIRESTACK_NOT_REMOVABLE`.
   */
  async unwrap(): Promise<Buffer[]> {
    if (!this.#removable) {
      throw new WirestackError('ERR_WIRESTACK_NOT_REMOVABLE',
        `the ${this.name} layer cannot be removed from a live connection`, { layer: this.name });
    }
    this.#lower.pause();
    return [];
  }

  // ── helpers for subclasses ──────────────────────────────────────────────

  /**
   * Writes `chunks` to the stream below as one batch (corked, so they reach a
   * `_writev` below together) and calls `done` once the stream below has room
   * again; at once while it is under its high-water mark.
   */
  protected sendDown(chunks: readonly Buffer[], done: Callback): void {
    if (this.writeDown(chunks)) done();
    else this.#awaitingDrain = done;
  }

  /** Writes `chunks` below as one batch and returns whether the stream below still has room. */
  protected writeDown(chunks: readonly Buffer[]): boolean {
    const lower = this.#lower;
    if (lower.destroyed || lower.writableEnded) {
      this.destroy(new WirestackError('ERR_WIRESTACK_CLOSED',
        `${this.name}: the stream below is already closed`, { layer: this.name }));
      return true;
    }
    let room = true;
    let bytes = 0;
    if (chunks.length === 1) {
      bytes = chunks[0]!.length;
      room = lower.write(chunks[0]);
    } else {
      lower.cork();
      for (const chunk of chunks) {
        if (chunk.length === 0) continue;
        bytes += chunk.length;
        room = lower.write(chunk);
      }
      lower.uncork();
    }
    if (bytes > 0) this.stats.countOut(bytes);
    return room;
  }

  /** Calls `done` when the stream below drains (at once if it has room). */
  protected whenLowerDrains(done: Callback): void {
    if (!this.#lower.writableNeedDrain) done();
    else this.#awaitingDrain = done;
  }

  /**
   * Hands bytes to the layer above (`null` ends the upper readable side).
   * When the upper side is full, the stream below is paused until it is read.
   * Zero-length chunks are dropped: they carry no meaning.
   */
  protected pushUp(chunk: Buffer | null): boolean {
    if (chunk === null) return this.push(null);
    if (chunk.length === 0) return true;
    const room = this.push(chunk);
    if (!room) this.pauseSource();
    return room;
  }

  /** Stops the flow that feeds pushUp(); the default pauses the stream below. */
  protected pauseSource(): void {
    if (this.#lowerPaused || this.#detached) return;
    this.#lowerPaused = true;
    this.#lower.pause();
  }

  /** Restarts what pauseSource() stopped; called when the layer above reads. */
  protected resumeSource(): void {
    if (!this.#lowerPaused) return;
    this.#lowerPaused = false;
    if (!this.#released && !this.#detached) this.#lower.resume();
  }

  // ── Duplex hooks ────────────────────────────────────────────────────────

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    // Empty writes are accepted and given no meaning; no layer below sees them.
    if (chunk.length === 0) callback();
    else this.transformOut([chunk], this.#hold(callback));
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: Callback): void {
    const chunks: Buffer[] = [];
    for (const entry of entries) if (entry.chunk.length > 0) chunks.push(entry.chunk);
    if (chunks.length === 0) callback();
    else this.transformOut(chunks, this.#hold(callback));
  }

  #hold(callback: Callback): Callback {
    const seq = ++this.#writeSeq;
    this.#inFlight = callback;
    return (err) => {
      if (seq !== this.#writeSeq || this.#inFlight === null) return;
      this.#inFlight = null;
      callback(err);
    };
  }

  override _final(callback: Callback): void {
    this.finishOut((err) => {
      if (err) return callback(err);
      const lower = this.#lower;
      if (lower.writableFinished) return callback();
      if (lower.destroyed) {
        return callback(new WirestackError('ERR_WIRESTACK_CLOSED',
          `${this.name}: the stream below closed before the end could be sent`, { layer: this.name }));
      }
      // 'finish' below means every layer under this one has flushed too, so
      // close() resolves only when the end has reached the raw connection.
      lower.once('finish', () => callback());
      lower.end();
    });
  }

  override _read(): void {
    this.resumeSource();
  }

  /**
   * Destroys the layer, and with it the whole stack. An error given here is
   * coded first, so `errored`, the `'error'` event and rejected promises all
   * carry the same `WirestackError`.
   */
  override destroy(error?: Error): this {
    return super.destroy(error ? toWirestackError(error, this.name) : error);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const error = err ? toWirestackError(err, this.name) : null;
    this.#awaitingDrain = null;
    this.#runTeardown(error);
    // A layer owns the stream below it: destroying any layer takes the whole
    // stack down to the socket. The error travels up, not down, so it is
    // reported once.
    if (!this.#released && !this.#lower.destroyed) this.#lower.destroy();
    const pending = this.#inFlight;
    this.#inFlight = null;
    callback(error);
    pending?.(error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
      `${this.name}: destroyed before a pending write was accepted`, { layer: this.name }));
  }

  /**
   * Detaches this layer from the stream below for good and returns that
   * stream, paused and open: the last step of `conn.pop()`, after
   * {@link Layer.unwrap}. The caller then reads what the layer still holds
   * and destroys it; the stream below is left alone.
   */
  release(): Duplex {
    this.#released = true;
    this.#unlisten(this.#lower);
    return this.#lower;
  }

  #runTeardown(error: Error | null): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    try {
      this.teardown(error);
    } catch (teardownError) {
      // A failing teardown must not stop the rest of the stack's teardown.
      queueMicrotask(() => this.emit('warning', teardownError));
    }
  }

  // ── the stream below ────────────────────────────────────────────────────

  #onLowerData = (chunk: Buffer): void => {
    this.stats.countIn(chunk.length);
    this.transformIn(chunk);
  };

  #onLowerEnd = (): void => {
    this.#lowerEnded = true;
    this.finishIn();
  };

  #onLowerError = (err: Error): void => {
    this.destroy(toWirestackError(err, layerName(this.#lower)));
  };

  #onLowerDrain = (): void => {
    const done = this.#awaitingDrain;
    this.#awaitingDrain = null;
    done?.();
  };

  #onLowerClose = (): void => {
    if (this.destroyed || this.#released) return;
    // The stream below went away before it had delivered its end: nothing
    // more can be read or written, so the layers above go too, and the
    // application learns that the stream did not end cleanly.
    if (!this.#lowerEnded) {
      this.destroy(new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE',
        `${this.name}: the stream below closed before it ended`, { layer: layerName(this.#lower) }));
      return;
    }
    // It ended cleanly; a write still waiting for room will never get it.
    const done = this.#awaitingDrain;
    this.#awaitingDrain = null;
    if (done && !this.#lower.writableFinished) {
      done(new WirestackError('ERR_WIRESTACK_CLOSED',
        `${this.name}: the stream below closed with writes pending`, { layer: this.name }));
    }
  };

  /**
   * Stops listening to the stream below and leaves it paused, without
   * destroying it: the first half of moving this layer onto another stream
   * (conn.push and conn.pop use it on the connection's top).
   */
  protected detachLower(): Duplex {
    this.#detached = true;
    this.#unlisten(this.#lower);
    this.#lowerPaused = false;
    this.#awaitingDrain = null;
    return this.#lower;
  }

  /** The second half: makes `lower` the stream below and starts reading it. */
  protected attachLower(lower: Duplex): void {
    this.#lower = lower;
    this.#detached = false;
    this.#lowerEnded = false;
    this.#listen(lower);
  }

  #listen(lower: Duplex): void {
    lower.on('data', this.#onLowerData);
    lower.on('end', this.#onLowerEnd);
    lower.on('error', this.#onLowerError);
    lower.on('drain', this.#onLowerDrain);
    lower.on('close', this.#onLowerClose);
    // A stream handed over by release() was paused; 'data' alone would not restart it.
    lower.resume();
  }

  #unlisten(lower: Duplex): void {
    lower.pause();
    lower.off('data', this.#onLowerData);
    lower.off('end', this.#onLowerEnd);
    lower.off('error', this.#onLowerError);
    lower.off('drain', this.#onLowerDrain);
    lower.off('close', this.#onLowerClose);
  }
}

// Names of layers made by filters that return their own Duplex, not a Layer.
const recordedNames = new WeakMap<Duplex, string>();

/** Remembers the name of a layer that is not a {@link Layer}, for its errors. */
export function nameLayer(stream: Duplex, name: string): void {
  if (!(stream instanceof Layer)) recordedNames.set(stream, name);
}

/** The name to put on an error that comes from `stream`: its layer's name, or `'raw'`. */
export function layerName(stream: Duplex): string {
  if (stream instanceof Layer) return stream.name;
  return recordedNames.get(stream) ?? 'raw';
}

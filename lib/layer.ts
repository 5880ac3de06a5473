import { WirestackError, toWirestackError } from './errors.js';
import { BottomPort, type Downstream, Pipeline, type Upstream } from './pipeline.js';
import { LayerStats } from './stats.js';
import { EventEmitter, type Duplex } from './stream.js';
import { emitWarning } from './runtime.js';

/** Options every layer takes. */
export interface LayerOptions {
  /** The layer's name, shown in `conn.layers` and on its errors. */
  name: string;
  /** Bytes a layer that holds data may hold each way before it waits (default 64 KiB). */
  highWaterMark?: number;
  /** Whether `conn.pop()` may remove this layer (default false). */
  removable?: boolean;
}

/**
 * Called once a write or an end has been taken, with the error if it failed.
 * @inline
 */
type Callback = (err?: Error | null) => void;

// Marks every Layer, so that a layer made by another copy of wirestack (its
// other module format, another version) is still known as one.
const layerBrand = Symbol.for('wirestack.layer');

/** Whether `value` is a {@link Layer}, from this copy of wirestack or another. */
export function isLayer(value: unknown): value is Layer {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[layerBrand] === true;
}

/** The default high-water mark of layers that hold bytes, and of the connection's buffers. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/**
 * Where a layer stands. `open` → `in-ended` or `out-ended` (one direction
 * has finished) → `ended` (both have); any of them → `torn-down` (a failure,
 * a destroy, or the connection's close) or `removed` (by `conn.pop()`).
 */
type LayerState = 'open' | 'in-ended' | 'out-ended' | 'ended' | 'torn-down' | 'removed';

// A write or end from above, waiting while an earlier one is in transformOut.
interface Waiting {
  readonly chunks: Buffer[] | null;
  readonly done: Callback;
}

/**
 * The base of a layer: one stage of a connection's pipeline, with the stream
 * below it (or the layer below) on one side and the layer above (or the
 * application) on the other. It is a plain object, not a stream: the
 * connection's pipeline calls its hooks, and it gets right, once for every
 * filter, backpressure both ways, writev batches, half-close, destroy and
 * error propagation through the whole stack, and a teardown that runs
 * exactly once.
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
export class Layer extends EventEmitter {
  /** The name given in its options, shown in `conn.layers` and on its errors. */
  readonly name: string;
  /** Bytes and chunks through this layer's lower side; `conn.layers` and `meter()` read it. */
  readonly stats = new LayerStats();
  /** Bytes a layer that holds data may hold each way before it waits. */
  readonly highWaterMark: number;

  readonly #pipeline: Pipeline;
  readonly #removable: boolean;
  // Neighbours: what this layer writes into and what it pushes into.
  #below: Downstream;
  #above: Upstream | null = null;
  #state: LayerState = 'open';
  // Set while transformOut (or finishOut) has a batch from above, until its done.
  #busy = false;
  // The callback of that batch.
  #current: Callback | null = null;
  // Batches (and the end) from above that arrived while busy; rare, so made when needed.
  #waiting: Waiting[] | null = null;
  // Writes this layer made below whose done has not come yet.
  #pendingBelow = 0;
  // whenLowerDrains() callbacks, waiting for #pendingBelow to reach 0.
  #drainWaiters: Callback[] | null = null;
  // Set while the layer above has asked for no more (pauseSource has run).
  #upperFull = false;
  // Set while this layer has asked the one below for no more (pauseLower).
  #lowerPaused = false;

  /**
   * Makes the layer over `lower`, what the filter's `attach()` was given (or
   * the layer below). Made only inside a filter's `attach()`, which the
   * connection calls.
   */
  constructor(lower: Duplex | Layer, options: LayerOptions) {
    super();
    this.name = options.name;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#removable = options.removable ?? false;
    const pipeline = isLayer(lower) ? lower._pipeline : Pipeline.building;
    if (pipeline === undefined) {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT',
        `${this.name}: a layer is made by a filter's attach(), which wrap(), connect(), listen() and push() call`, { layer: this.name });
    }
    this.#pipeline = pipeline;
    this.#below = pipeline.stack(this, lower);
  }

  /** What is directly below: the layer below, or the stream under the lowest layer. */
  get lower(): Duplex | Layer {
    const below = this.#below;
    return below instanceof BottomPort ? below.stream : (below as Layer);
  }

  /** Whether the layer has been torn down (or removed from its connection). */
  get destroyed(): boolean {
    return this.#state === 'torn-down' || this.#state === 'removed';
  }

  /** `'open'`, `'half-closed'` (one direction ended) or `'closed'`, as `conn.layers` shows it. */
  get state(): 'open' | 'half-closed' | 'closed' {
    const state = this.#state;
    return state === 'open' ? 'open' : state === 'in-ended' || state === 'out-ended' ? 'half-closed' : 'closed';
  }

  /** Bytes this layer holds on their way down (waiting batches; layers that hold more add theirs). */
  get writableLength(): number {
    let bytes = 0;
    for (const { chunks } of this.#waiting ?? []) for (const chunk of chunks ?? []) bytes += chunk.length;
    return bytes;
  }

  /** Bytes this layer holds on their way up (none, unless a layer that holds bytes says so). */
  get readableLength(): number {
    return 0;
  }

  /** Whether the stream below has ended: all it will ever send has reached transformIn. */
  protected get lowerEnded(): boolean {
    return this.#state === 'in-ended' || this.#state === 'ended';
  }

  /**
   * Whether a write below would be taken at once: the direction below is
   * open and nothing on the way down is over its high-water mark (a write
   * still inside a call below does not count: it is being taken).
   */
  protected get lowerWritable(): boolean {
    const state = this.#state;
    return (state === 'open' || state === 'in-ended') && !this.#pipeline.tornDown && this.#below._hasRoom();
  }

  /** Whether the layer above has asked for no more bytes for now. */
  protected get upperFull(): boolean {
    return this.#upperFull;
  }

  // ── hooks for subclasses ────────────────────────────────────────────────

  /**
   * Handles one write or one writev batch from above. Call `done` when the
   * bytes are accepted; {@link Layer.sendDown} does so once the stream below
   * has room. The next batch comes only after `done`. Empty writes never
   * reach this hook.
   */
  protected transformOut(chunks: Buffer[], done: Callback): void {
    this.sendDown(chunks, done);
  }

  /** Handles one chunk read from below; call {@link Layer.pushUp} with what the layer above should read. */
  protected transformIn(chunk: Buffer): void {
    this.pushUp(chunk);
  }

  /** Runs at `end()` from above, after every write, before the stream below is ended: write any final bytes, then call `done`. */
  protected finishOut(done: Callback): void {
    done();
  }

  /** Runs when the stream below has ended; the default ends the layer above's reading side. */
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

  /** The layer above is full: stop what feeds {@link Layer.pushUp}. The default pauses the flow from below. */
  protected pauseSource(): void {
    this.pauseLower();
  }

  /** The layer above has room again: restart what {@link Layer.pauseSource} stopped. */
  protected resumeSource(): void {
    this.resumeLower();
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
    this.pauseLower();
    return [];
  }

  // ── helpers for subclasses ──────────────────────────────────────────────

  /**
   * Writes `chunks` below as one batch and calls `done` once the stream
   * below has room again; at once while it has.
   */
  protected sendDown(chunks: Buffer[], done: Callback): void {
    if (this.writeDown(chunks)) done();
    else this.whenLowerDrains(done);
  }

  /** Writes `chunks` below as one batch and returns whether the stream below still has room. */
  protected writeDown(chunks: Buffer[]): boolean {
    if (this.destroyed) return true;
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    if (bytes === 0) return this.#pendingBelow === 0;
    this.stats.countOut(bytes);
    this.#pendingBelow++;
    this.#below._takeFromAbove(chunks, this.#writtenBelow ??= (err) => this.#tookBelow(err));
    // Taken already, or waiting only behind buffers still under their high-water marks
    // (or inside a call below that is still taking it, when the peer answered at once).
    return this.#pendingBelow === 0 || this.#below._hasRoom();
  }

  /** Calls `done` when every write this layer made below has been taken (at once if none is waiting). */
  protected whenLowerDrains(done: Callback): void {
    if (this.#pendingBelow === 0) done();
    else (this.#drainWaiters ??= []).push(done);
  }

  // The callback of writes this layer makes below; made at the first (an idle layer makes none).
  #writtenBelow: Callback | undefined;

  // A write this layer made below was taken.
  #tookBelow(err?: Error | null): void {
    this.#pendingBelow--;
    if (err) {
      this.destroy(err);
      return;
    }
    if (this.#pendingBelow > 0 || this.#drainWaiters === null) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = null;
    for (const done of waiters) done();
  }


  /**
   * Hands bytes to the layer above (`null` ends its reading side) and
   * returns whether it still has room. When it has not, {@link Layer.pauseSource}
   * has already run. Zero-length chunks are dropped: they carry no meaning.
   */
  protected pushUp(chunk: Buffer | null): boolean {
    const above = this.#above;
    if (this.destroyed) return false;
    if (above === null) {
      // Nothing reads a layer before its connection is made; bytes pushed then would be lost.
      this.destroy(new WirestackError('ERR_WIRESTACK_LAYER', `${this.name}: pushed bytes up before the connection was made`, { layer: this.name }));
      return false;
    }
    if (chunk === null) {
      above._endFromBelow();
      return false;
    }
    if (chunk.length > 0) above._takeFromBelow(chunk);
    return !this.#upperFull;
  }

  /** Asks the stream (or layer) below for no more bytes until {@link Layer.resumeLower}. */
  protected pauseLower(): void {
    if (this.#lowerPaused) return;
    this.#lowerPaused = true;
    this.#below._upperFull();
  }

  /** Lets bytes come from below again. */
  protected resumeLower(): void {
    if (!this.#lowerPaused) return;
    this.#lowerPaused = false;
    if (!this.destroyed) this.#below._upperReady();
  }

  /**
   * Ends the direction below this layer now, without this layer's own
   * {@link Layer.finishOut}: the layers below finish in order, then the raw
   * stream; `done` once the end has reached it.
   */
  protected endLower(done: Callback = () => {}): void {
    this.#below._endFromAbove(done);
  }

  /**
   * Destroys the layer, and with it the whole connection. An error given
   * here is coded first, so `errored`, the `'error'` event and rejected
   * promises all carry the same `WirestackError`; without one, the
   * connection fails with `ERR_WIRESTACK_PREMATURE_CLOSE` naming this layer.
   */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.#pipeline.fail(error ? toWirestackError(error, this.name)
      : new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE', `${this.name}: the layer was destroyed`, { layer: this.name }));
    return this;
  }

  // ── the pipeline's side (internal) ──────────────────────────────────────

  /** @internal The pipeline this layer is part of. */
  get _pipeline(): Pipeline {
    return this.#pipeline;
  }

  /** @internal */
  _setAbove(above: Upstream): void {
    this.#above = above;
  }

  /** @internal */
  _setBelow(below: Downstream): void {
    this.#below = below;
  }

  /** @internal What this layer writes into: the layer below, or the stream's port. */
  get _lowerSide(): Downstream {
    return this.#below;
  }

  /** @internal */
  _passUp(chunk: Buffer): void {
    this.#above?._takeFromBelow(chunk);
  }

  /** @internal Whether a batch from above would be taken without waiting behind a full buffer. */
  _hasRoom(): boolean {
    const state = this.#state;
    return (state === 'open' || state === 'in-ended') && this.writableLength < this.highWaterMark && this.#below._hasRoom();
  }

  /** @internal A batch from above. */
  _takeFromAbove(chunks: Buffer[], done: Callback): void {
    if (this.destroyed) return done(this.#closedError());
    if (this.#busy) {
      (this.#waiting ??= []).push({ chunks, done });
      return;
    }
    this.#busy = true;
    this.#current = done;
    this.transformOut(chunks, this.#tookBatch ??= (err) => this.#batchTaken(err));
  }

  /** @internal The end from above, after every batch before it. */
  _endFromAbove(done: Callback): void {
    if (this.destroyed) return done(this.#closedError());
    // Ended already (a layer above ended the direction below it early): the end is on its way down.
    if (this.#state === 'out-ended' || this.#state === 'ended') return this.#below._endFromAbove(done);
    if (this.#busy) {
      (this.#waiting ??= []).push({ chunks: null, done });
      return;
    }
    this.#busy = true;
    this.#current = done;
    this.finishOut((err) => this.#finishedOut(err));
  }

  // transformOut's callback; made at the first batch (an idle layer gets none).
  #tookBatch: Callback | undefined;

  // transformOut is done with its batch: start the next one waiting, then tell the caller.
  #batchTaken(err?: Error | null): void {
    const done = this.#current;
    if (done === null) return;
    this.#current = null;
    this.#busy = false;
    if (err) {
      done(err);
      return;
    }
    this.#next();
    done();
  }


  // finishOut is done: end the direction below, and report when the end got there.
  #finishedOut(err?: Error | null): void {
    const done = this.#current;
    if (done === null) return;
    this.#current = null;
    if (err) {
      done(err);
      return;
    }
    this.#state = this.#state === 'in-ended' ? 'ended' : this.#state === 'open' ? 'out-ended' : this.#state;
    this.#below._endFromAbove(done);
  }


  #next(): void {
    const waiting = this.#waiting;
    if (waiting === null || waiting.length === 0) return;
    const { chunks, done } = waiting.shift()!;
    if (chunks === null) this._endFromAbove(done);
    else this._takeFromAbove(chunks, done);
  }

  /** @internal A chunk from below. */
  _takeFromBelow(chunk: Buffer): void {
    if (this.destroyed) return;
    this.stats.countIn(chunk.length);
    this.transformIn(chunk);
  }

  /** @internal The end from below. */
  _endFromBelow(): void {
    if (this.destroyed) return;
    this.#state = this.#state === 'out-ended' ? 'ended' : this.#state === 'open' ? 'in-ended' : this.#state;
    this.finishIn();
  }

  /** @internal The one above is full. */
  _upperFull(): void {
    if (this.#upperFull) return;
    this.#upperFull = true;
    this.pauseSource();
  }

  /** @internal The one above has room. */
  _upperReady(): void {
    if (!this.#upperFull) return;
    this.#upperFull = false;
    this.resumeSource();
  }

  /** @internal Runs the teardown once; the pipeline calls it when the connection ends. */
  _teardown(error: Error | null): void {
    if (this.destroyed) return;
    this.#state = 'torn-down';
    this.#finishTeardown(error);
  }

  /** @internal conn.pop(): out of the pipeline for good; its teardown runs, the stream below goes on. */
  _release(): void {
    if (this.destroyed) return;
    this.#state = 'removed';
    this.#finishTeardown(null);
  }

  #finishTeardown(error: Error | null): void {
    this.#waiting = null;
    this.#drainWaiters = null;
    const current = this.#current;
    this.#current = null;
    try {
      this.teardown(error);
    } catch (teardownError) {
      // A failing teardown must not stop the rest of the stack's teardown;
      // it is a bug in that layer, so it is reported as a process warning.
      emitWarning(`wirestack: the ${this.name} layer's teardown threw: ${String(teardownError)}`);
    }
    current?.(error ?? this.#closedError());
  }

  #closedError(): WirestackError {
    return new WirestackError('ERR_WIRESTACK_CLOSED', `${this.name}: the layer is closed`, { layer: this.name });
  }
}

Object.defineProperty(Layer.prototype, layerBrand, { value: true });

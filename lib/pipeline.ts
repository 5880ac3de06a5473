/**
 * One pipeline per connection. The only streams are the raw stream at the
 * bottom and the connection the application holds at the top; the layers in
 * between are plain objects ({@link Layer}) that call each other:
 *
 * ```
 *   Connection (PipelineEnd, a Duplex)    writes go down ─┐   ▲ reads come up
 *     layer  (_takeFromAbove / _takeFromBelow)            │   │
 *     layer                                               ▼   │
 *   BottomPort over the raw stream (net.Socket, memory end, any Duplex)
 * ```
 *
 * A write is in flight through the whole pipeline until the stream at the
 * bottom has room (or a layer that holds bytes has taken it within its own
 * bound), so the connection's own writable buffer is the one queue; a full
 * reader at the top pauses the flow layer by layer down to the raw stream.
 *
 * A filter that returns a stream of its own instead of a Layer splits the
 * pipeline into segments: the layers below it end in a {@link PipelineEnd}
 * (a "view", the Duplex that filter sits on), and the layers above it stand
 * on a new {@link BottomPort} over the stream it returned. The pipeline tears
 * every segment down together, and reports one error.
 */
import { WirestackError, toWirestackError } from './errors.js';
import type { LayerContext, RemoteInfo, Role } from './filter.js';
import { LayerStats } from './stats.js';
import type { Layer } from './layer.js';
import { Duplex } from './stream.js';
import { writeBatch } from './write-batch.js';

type Callback = (err?: Error | null) => void;

/** The side of a layer (or of the bottom port) that the layer above writes into. @internal */
export interface Downstream {
  /** A write or writev batch from above; `done` once it is taken (the caller may send more). */
  _takeFromAbove(chunks: Buffer[], done: Callback): void;
  /** The end from above, after every write before it; `done` once it has reached the raw stream. */
  _endFromAbove(done: Callback): void;
  /** The one above can take no more for now: stop sending up. */
  _upperFull(): void;
  /** The one above has room again. */
  _upperReady(): void;
  /** Links what sits above. */
  _setAbove(above: Upstream): void;
  /** Hands `chunk` to what sits above as if it had just come up from here (push and pop re-feed bytes). */
  _passUp(chunk: Buffer): void;
  /** Whether a batch from above would be taken without waiting for room (nothing on the way down is full). */
  _hasRoom(): boolean;
}

/** The side of a layer (or of a pipeline end) that the one below pushes into. @internal */
export interface Upstream {
  /** Bytes from below (never empty). */
  _takeFromBelow(chunk: Buffer): void;
  /** The end from below. */
  _endFromBelow(): void;
  /** Links what sits below. */
  _setBelow(below: Downstream): void;
}

/** A stack's layer as the connection lists it: a {@link Layer}, or the stream a filter returned. */
export interface LayerRecord {
  readonly name: string;
  readonly stream: Duplex | Layer;
}

// Pipelines being built, innermost last: a Layer made inside a filter's
// attach() joins the one on top (see Pipeline.building). Shared by every
// copy of wirestack in the process (its ES module and CommonJS builds, or
// two versions side by side), so a filter from one works in a stack of another.
const EMPTY_RECORDS: LayerRecord[] = [];
const building: Pipeline[] = ((globalThis as Record<symbol, unknown>)[Symbol.for('wirestack.pipelinesBuilding')] ??= []) as Pipeline[];

/**
 * The state of one connection's stack: its layers and streams, what the
 * next filter applied sits on, and the one failure that tears it all down.
 * @internal
 */
export class Pipeline implements LayerContext {
  /** What filters learn of the connection: role, remote and record() — the pipeline itself. */
  readonly role: Role;
  readonly remote: RemoteInfo;
  /** The raw stream under everything. */
  readonly raw: Duplex;
  /** Layers lowest first; push() appends, pop() removes the last. */
  // Made with its first record: push() on an empty array reserves 17 slots (152 B).
  records: LayerRecord[] = EMPTY_RECORDS;
  // The bottom port of each segment, lowest first; the last one is the connection's.
  readonly #ports: BottomPort[];
  // The views (segment ends) made for filters that returned streams.
  #views: PipelineEnd[] | null = null;
  // What the next layer sits on: the highest layer, or the last segment's port.
  #top: Downstream;
  // The end at the top, once the connection is made.
  #end: PipelineEnd | null = null;
  // The view handed to attach() as `lower` while the top is a layer; made
  // once and kept until a filter that returns a stream uses it.
  #pendingView: PipelineEnd | null = null;
  // undefined while alive; the failure (or null for a clean teardown) after.
  #outcome: WirestackError | null | undefined = undefined;
  /**
   * Called when bytes cross the bottom of any segment (read, written, or a
   * full stream drained): the connection's idle timer. Null while no timer is set.
   */
  onActivity: (() => void) | null = null;

  constructor(raw: Duplex, role: Role, remote: RemoteInfo, rawName = 'raw') {
    this.raw = raw;
    this.role = role;
    this.remote = remote;
    const port = new BottomPort(raw, rawName, this);
    this.#ports = [port];
    this.#top = port;
  }

  /** The context filters get: the pipeline (its role, remote and record()). */
  get ctx(): LayerContext {
    return this;
  }

  /** The pipeline a Layer being made now joins, or undefined outside a filter's attach(). */
  static get building(): Pipeline | undefined {
    return building.at(-1);
  }

  /** Whether the pipeline has been torn down. */
  get tornDown(): boolean {
    return this.#outcome !== undefined;
  }

  /** What the next filter's attach() gets as `lower`: a stream standing for the top of the stack. */
  lowerForNextFilter(): Duplex {
    if (this.#top instanceof BottomPort) return this.#top.stream;
    this.#pendingView ??= new PipelineEnd(this);
    return this.#pendingView;
  }

  /**
   * Runs `apply` (a fold of filters) with this pipeline as the one new
   * layers join; the end at the top is unlinked meanwhile and linked again
   * above the new top.
   */
  build<T>(apply: () => T): T {
    building.push(this);
    try {
      return apply();
    } finally {
      building.pop();
      this.#pendingView = null;
      // On a live connection (push), the end goes back on top and new segments start reading.
      if (this.#end) {
        this.#link(this.#top, this.#end);
        for (const port of this.#ports) port.start();
      }
    }
  }

  /**
   * Puts `layer` on top of the stack. `lower` is what its filter was given
   * (or another layer): a layer over the top joins this segment; a layer over
   * some other stream starts a segment of its own over that stream.
   */
  stack(layer: Layer, lower: Duplex | Layer): Downstream {
    if (!this.#standsForTop(lower)) {
      if (!(lower instanceof Duplex)) {
        throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT',
          `${layer.name}: a layer can only be made over the top of the stack it joins`, { layer: layer.name });
      }
      this.segmentOver(lower, layer.name);
    }
    const below = this.#top;
    below._setAbove(layer);
    this.#top = layer;
    return below;
  }

  // Whether `lower` is what the next filter was given for the top of the stack.
  #standsForTop(lower: Duplex | Layer): boolean {
    const top = this.#top;
    return lower === top || (lower !== null && lower === this.#pendingView) || (top instanceof BottomPort && lower === top.stream);
  }

  /**
   * A filter returned `stream` (not a Layer), made over what it was given:
   * if that was the view, the view becomes the end of the layers below; the
   * stack goes on over `stream`.
   */
  segmentOver(stream: Duplex, name: string): void {
    const view = this.#pendingView;
    if (view !== null) {
      this.#pendingView = null;
      (this.#views ??= []).push(view);
      this.#link(this.#top, view);
    } else if (this.#top instanceof BottomPort) {
      // Nothing stood on that port: the filter took its stream directly, so
      // the port must not read it too. The stream is destroyed at teardown
      // as the filter's or the raw one.
      this.#ports.pop()!.detach();
    }
    const port = new BottomPort(stream, name, this);
    this.#ports.push(port);
    this.#top = port;
  }

  /** Lists a layer (or a filter's stream) for `conn.layers`; one made after a failure is torn down at once. */
  record(name: string, stream: Duplex | Layer): void {
    const record = { name, stream };
    if (this.records.length === 0) this.records = [record];
    else this.records.push(record);
    if (this.#outcome === undefined) return;
    if (stream instanceof Duplex) stream.destroy();
    else stream._teardown(this.#outcome);
  }

  /** The top of the stack (the highest layer, or the last segment's port). */
  get top(): Downstream {
    return this.#top;
  }

  /** The top as the next filter's fold sees it: the highest layer, or the stream it would sit on. */
  topForFold(): Duplex | Layer {
    const top = this.#top;
    return top instanceof BottomPort ? top.stream : (top as Layer);
  }

  /**
   * conn.push(): applies more filters (`apply`) on top of the live stack.
   * `unread`, bytes the connection had received but not handed out, goes to
   * the new layers first. On a bare stream it goes back into the stream,
   * which is held meanwhile: a filter may take the stream itself (TLS on a
   * socket reads what the socket has buffered).
   */
  extend(apply: () => void, unread: Buffer | null): void {
    const below = this.#top;
    const port = below instanceof BottomPort ? below : null;
    port?.hold();
    if (unread && port) port.stream.unshift(unread);
    try {
      this.build(apply);
    } finally {
      port?.unhold();
    }
    if (unread && !port) below._passUp(unread);
  }

  /** Links the connection above the top of the stack and starts reading. */
  open(end: PipelineEnd): void {
    this.#end = end;
    this.#link(this.#top, end);
    if (this.#outcome !== undefined) {
      end.destroy(this.#outcome ?? undefined);
      return;
    }
    for (const port of this.#ports) port.start();
  }

  /**
   * Takes the top layer out (conn.pop()): the layer below it, or the
   * segment's port, now feeds the connection. The layer's teardown runs.
   */
  removeTop(layer: Layer, below: Downstream): void {
    this.#top = below;
    this.records.pop();
    if (this.#end) this.#link(below, this.#end);
    layer._release();
  }

  /** The highest layer's record, if the top of the stack is a layer. */
  topRecord(): LayerRecord | undefined {
    return this.records.at(-1);
  }

  #link(below: Downstream, above: Upstream): void {
    below._setAbove(above);
    above._setBelow(below);
  }

  /**
   * A failure anywhere: it reaches the connection once, and everything is
   * torn down. Before the connection exists it is kept and given to it.
   */
  fail(error: WirestackError): void {
    if (this.#outcome !== undefined) return;
    if (this.#end) this.#end.destroy(error);
    else this.teardown(error);
  }

  /** Runs every layer's teardown once and destroys every stream of the stack. */
  teardown(error: WirestackError | null): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = error;
    for (let i = this.records.length - 1; i >= 0; i--) {
      const { stream } = this.records[i]!;
      if (stream instanceof Duplex) {
        if (!stream.destroyed) stream.destroy();
      } else {
        stream._teardown(error);
      }
    }
    for (const view of this.#views ?? []) if (!view.destroyed) view.destroy();
    for (const port of this.#ports) port.stop();
    if (!this.raw.destroyed) this.raw.destroy();
  }
}

/**
 * The bottom of a segment: the stream below the lowest layer (the raw
 * stream, or one a filter returned), seen as a {@link Downstream}.
 * @internal
 */
export class BottomPort implements Downstream {
  readonly stream: Duplex;
  // The stream's name on errors: 'raw', or the filter that returned it.
  readonly #name: string;
  readonly #pipeline: Pipeline;
  #above: Upstream | null = null;
  // Callbacks of writes the stream took over its high-water mark, until 'drain'.
  #drainWaiters: Callback[] | null = null;
  // The end's callbacks, until the stream has finished.
  #finishWaiters: Callback[] | null = null;
  // 'idle' until start(); 'reading'; 'ended' once the stream's end arrived;
  // 'detached' when a filter took the stream; 'stopped' at teardown.
  #state: 'idle' | 'reading' | 'ended' | 'detached' | 'stopped' = 'idle';
  // Set while the one above asked for no more bytes.
  #paused = false;
  // This port's own listeners, made only when another port already listens
  // to the same stream (a stream wrapped twice); otherwise the shared ones.
  #own: StreamListeners | null = null;

  constructor(stream: Duplex, name: string, pipeline: Pipeline) {
    this.stream = stream;
    this.#name = name;
    this.#pipeline = pipeline;
  }

  /** Starts listening to the stream (once the connection is made). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'reading';
    const stream = this.stream;
    // The shared listeners find their port on the stream; a stream that
    // already has a listening port keeps it, and this one listens with its own.
    const owner = portOf(stream);
    if (owner !== undefined && owner !== this && owner.#listening()) {
      this.#own = {
        data: (chunk) => this.#data(chunk),
        end: () => this.#ended(),
        error: (err) => this.#failed(err),
        close: () => this.#closed(),
      };
    } else {
      (stream as unknown as Record<symbol, BottomPort | undefined>)[kPort] = this;
    }
    const listeners = this.#listeners();
    stream.on('data', listeners.data);
    stream.on('end', listeners.end);
    stream.on('error', listeners.error);
    stream.on('close', listeners.close);
    if (this.#paused) stream.pause();
    else stream.resume();
  }

  /** Stops listening and destroys the stream (teardown). */
  stop(): void {
    const stream = this.stream;
    if (this.#state === 'detached' || this.#state === 'stopped') return;
    if (this.#state !== 'idle') this.#unlisten();
    // A stream may still report an error as it goes, and nobody else listens.
    stream.on('error', () => {});
    this.#state = 'stopped';
    this.#drainWaiters = null;
    this.#finishWaiters = null;
    if (!stream.destroyed) stream.destroy();
  }

  /** A filter took the stream (conn.push() of TLS on a socket): stop reading it, leave it open and paused. */
  detach(): void {
    if (this.#state === 'detached' || this.#state === 'stopped') return;
    // A port that never read leaves the stream as the filter made it (a
    // filter may already read it, e.g. one that wraps it in a connection).
    if (this.#state !== 'idle') {
      this.#unlisten();
      this.stream.off('error', this.#listeners().error);
      if (portOf(this.stream) === this) (this.stream as unknown as Record<symbol, BottomPort | undefined>)[kPort] = undefined;
      this.stream.pause();
    }
    this.#state = 'detached';
  }

  /** Holds the stream paused while the stack above it changes (conn.push()). */
  hold(): void {
    if (this.#state === 'reading') this.stream.pause();
  }

  /** Undoes {@link BottomPort.hold}, unless the one above asked for no more meanwhile. */
  unhold(): void {
    if (this.#state === 'reading' && !this.#paused) this.stream.resume();
  }

  #unlisten(): void {
    const stream = this.stream;
    const listeners = this.#listeners();
    stream.off('data', listeners.data);
    stream.off('end', listeners.end);
    if (this.#onDrain) stream.off('drain', this.#onDrain);
    stream.off('close', listeners.close);
  }

  _setAbove(above: Upstream): void {
    this.#above = above;
  }

  _passUp(chunk: Buffer): void {
    this.#above?._takeFromBelow(chunk);
  }

  _takeFromAbove(chunks: Buffer[], done: Callback): void {
    const stream = this.stream;
    this.#pipeline.onActivity?.();
    if (stream.destroyed || stream.writableEnded) {
      const error = new WirestackError('ERR_WIRESTACK_CLOSED', `${this.#name}: the stream is already closed`, { layer: this.#name });
      this.#pipeline.fail(error);
      done(error);
      return;
    }
    if (writeBatch(stream, chunks)) {
      done();
      return;
    }
    (this.#drainWaiters ??= []).push(done);
    // Listened for only while a write waits: most connections never wait.
    if (this.#drainWaiters.length === 1) stream.once('drain', this.#onDrain ??= () => this.#drained());
  }

  _endFromAbove(done: Callback): void {
    const stream = this.stream;
    if (stream.writableFinished) return done();
    if (stream.destroyed) {
      return done(new WirestackError('ERR_WIRESTACK_CLOSED',
        `${this.#name}: the stream closed before the end could be sent`, { layer: this.#name }));
    }
    // 'finish' means the end has reached the stream (a socket: its FIN was written).
    (this.#finishWaiters ??= []).push(done);
    if (this.#finishWaiters.length > 1) return;
    stream.once('finish', () => {
      const waiters = this.#finishWaiters;
      this.#finishWaiters = null;
      for (const waiter of waiters ?? []) waiter();
    });
    stream.end();
  }

  _hasRoom(): boolean {
    const stream = this.stream;
    return !stream.destroyed && !stream.writableEnded && !stream.writableNeedDrain;
  }

  _upperFull(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#state === 'reading') this.stream.pause();
  }

  _upperReady(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state === 'reading') this.stream.resume();
  }

  // Whether this port listens to its stream now.
  #listening(): boolean {
    return this.#state === 'reading' || this.#state === 'ended';
  }

  #listeners(): StreamListeners {
    return this.#own ?? BottomPort.#shared;
  }

  // The listeners of every port that is the only one on its stream (nearly
  // all): `this` is the stream, and no closures are made per connection. A
  // stream whose port has gone (a late error after teardown) finds none.
  static readonly #shared: StreamListeners = {
    data(this: Duplex, chunk: Buffer): void {
      const port = portOf(this);
      if (port) port.#data(chunk);
    },
    end(this: Duplex): void {
      const port = portOf(this);
      if (port) port.#ended();
    },
    error(this: Duplex, err: Error): void {
      const port = portOf(this);
      if (port) port.#failed(err);
    },
    close(this: Duplex): void {
      const port = portOf(this);
      if (port) port.#closed();
    },
  };

  #data(chunk: Buffer): void {
    this.#pipeline.onActivity?.();
    if (chunk.length > 0) this.#above!._takeFromBelow(chunk);
  }

  #ended(): void {
    this.#state = 'ended';
    this.#above!._endFromBelow();
  }

  #failed(err: Error): void {
    this.#pipeline.fail(toWirestackError(err, this.#name));
  }

  // The 'drain' listener, made when a write first has to wait.
  #onDrain: (() => void) | undefined;

  // A drain is progress too: a slow peer reading a large write is not idle.
  #drained(): void {
    this.#pipeline.onActivity?.();
    const waiters = this.#drainWaiters;
    if (waiters === null || waiters.length === 0) return;
    this.#drainWaiters = null;
    for (const done of waiters) done();
  }

  #closed(): void {
    if (this.#pipeline.tornDown || this.#state === 'stopped') return;
    // The stream went away before it had delivered its end: nothing more
    // can be read or written, and the application learns that it did not
    // end cleanly.
    if (this.#state !== 'ended') {
      this.#pipeline.fail(new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE',
        `${this.#name}: the stream closed before it ended`, { layer: this.#name }));
      return;
    }
    // It ended cleanly; a write still waiting for room, or an end waiting
    // to be flushed, will never get there.
    if (this.stream.writableFinished) return;
    const closed = (): WirestackError => new WirestackError('ERR_WIRESTACK_CLOSED',
      `${this.#name}: the stream closed with writes pending`, { layer: this.#name });
    const waiters = this.#drainWaiters;
    this.#drainWaiters = null;
    for (const done of waiters ?? []) done(closed());
    const finishing = this.#finishWaiters;
    this.#finishWaiters = null;
    for (const done of finishing ?? []) done(closed());
  }
}

// Where the shared listeners find the port listening to a stream.
const kPort = Symbol('wirestack.bottomPort');
function portOf(stream: Duplex): BottomPort | undefined {
  return (stream as unknown as Record<symbol, BottomPort | undefined>)[kPort];
}

/** The four listeners a port puts on its stream. */
interface StreamListeners {
  data(this: unknown, chunk: Buffer): void;
  end(this: unknown): void;
  error(this: unknown, err: Error): void;
  close(this: unknown): void;
}

/**
 * The Duplex at the top of a segment: the connection, or the view a filter
 * that returns a stream of its own sits on. Writes go into the layer below
 * it; what that layer pushes up is read here, and a full reader pauses it.
 */
export class PipelineEnd extends Duplex {
  /** Bytes and chunks the application read (in) and wrote (out) here, at the top of the stack. */
  readonly stats = new LayerStats();
  /** @internal */
  protected readonly pipeline: Pipeline;
  #below: Downstream | null = null;
  // The write the pipeline is carrying, until its callback (failed at destroy).
  #inFlight: Callback | null = null;

  /** @internal */
  constructor(pipeline: Pipeline, highWaterMark?: number) {
    super({
      allowHalfOpen: true,
      ...(highWaterMark === undefined ? {} : { readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark }),
    });
    this.pipeline = pipeline;
  }

  /**
   * The end is destroyed. A view that finished both ways is simply done; one
   * destroyed before that fails the whole pipeline (the filter above it gave
   * up on it). The connection overrides this to tear the stack down.
   */
  protected ended(error: WirestackError | null): void {
    if (error === null && this.readableEnded && this.writableFinished) return;
    this.pipeline.fail(error ?? new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE',
      'a stream in the stack closed before it ended', { layer: 'connection' }));
  }

  /** @internal */
  _setBelow(below: Downstream): void {
    this.#below = below;
  }

  /** @internal */
  _takeFromBelow(chunk: Buffer): void {
    this.stats.countIn(chunk.length);
    if (!this.push(chunk)) this.#below?._upperFull();
  }

  /** @internal */
  _endFromBelow(): void {
    this.push(null);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _read(): void {
    this.#below?._upperReady();
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    // Empty writes are accepted and given no meaning; no layer sees them.
    if (chunk.length === 0) return callback();
    this.stats.countOut(chunk.length);
    this.#inFlight = callback;
    this.#below!._takeFromAbove([chunk], this.#written ??= (err) => this.#taken(err));
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _writev(entries: Array<{ chunk: Buffer }>, callback: Callback): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (const entry of entries) {
      if (entry.chunk.length === 0) continue;
      chunks.push(entry.chunk);
      bytes += entry.chunk.length;
    }
    if (chunks.length === 0) return callback();
    this.stats.countOut(bytes);
    this.#inFlight = callback;
    this.#below!._takeFromAbove(chunks, this.#written ??= (err) => this.#taken(err));
  }

  // The callback writes carry down; made at the first write.
  #written: Callback | undefined;

  // Called by the layer below when a write is taken; a late call after destroy finds nothing to finish.
  #taken(err?: Error | null): void {
    const callback = this.#inFlight;
    this.#inFlight = null;
    callback?.(err);
  }


  /** Node's stream hook, called by the stream machinery. @hidden */
  override _final(callback: Callback): void {
    this.#below!._endFromAbove(callback);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const error = err ? toWirestackError(err, 'connection') : null;
    this.ended(error);
    const pending = this.#inFlight;
    this.#inFlight = null;
    callback(error);
    pending?.(error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
      'destroyed before a pending write was accepted', { layer: 'connection' }));
  }
}

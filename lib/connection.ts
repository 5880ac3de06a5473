import { WirestackError, toWirestackError } from './errors.js';
import type { Filter, LayerInfo, RemoteInfo, Role } from './filter.js';
import { type Layer, isLayer } from './layer.js';
import { BottomPort, Pipeline } from './pipeline.js';
import { isSecureLayer, secureLayer } from './secure-layer.js';
import { SocketSurface } from './socket-surface.js';
import type { SecureInfo, TlsStatus } from '../filters/tls/info.js';
import { applyFilter, toStack } from './stack.js';
import type { LayerStats } from './stats.js';
import { finishedPromise, type Duplex } from './stream.js';

/** The lowest byte stream of a connection. */
export interface RawInfo {
  /**
   * The raw stream itself: a `net.Socket`, one end of a memory pair, or the
   * user's Duplex. When `connect()` opened the connection with a TLS client
   * lowest in the stack, it is Node's TLS socket, which OpenSSL drives on the
   * TCP socket's handle itself (there is no separate socket object); to act
   * on the bytes below TLS, put a layer (a fault filter) below it.
   */
  readonly stream: Duplex;
  /** The OS file descriptor, where there is one (TCP and Unix sockets); otherwise `undefined`. */
  readonly fd: number | undefined;
}

/** Options for {@link wrap}. */
export interface WrapOptions {
  /** Which end this is; filters such as TLS may check it. Default `'client'`. */
  role?: Role;
  /** Where the raw stream goes, for filters that need the host (TLS SNI). */
  remote?: RemoteInfo;
  /** High-water mark of the connection's own buffers (default 64 KiB). */
  highWaterMark?: number;
}

// The 'error' listener every connection has, so that a failure nobody listens for does not crash the process.
function ignore(): void {}

// How long `await using` waits for a graceful close before destroying.
const DISPOSE_CLOSE_MS = 5_000;

// A zero-length chunk no caller can write: marks where in the write queue a
// push or pop happens.
const WRITE_QUEUE_MARK = Buffer.alloc(0);

/** Anything `send()` accepts. */
export type Sendable = Buffer | Uint8Array | string;

/**
 * The application's handle on one applied stack: a Duplex (so it pipes, and
 * works with `pipeline` and `for await`) plus a promise API.
 *
 * Errors: every failure in the stack reaches the connection once, as a
 * {@link WirestackError}. It is emitted as `'error'` when there are
 * listeners, rejects whatever promise is pending, and stays in `errored`; a
 * connection used only through promises never throws an unhandled `'error'`.
 */
export class Connection extends SocketSurface {
  /** Which end this is, fixed when the connection was made. */
  readonly role: Role;
  /** Where the raw connection goes, when known. */
  readonly remote: RemoteInfo;

  // Name of the receive/push/pop call in progress, if any; they may not overlap.
  #busy: string | null = null;
  // The push or pop waiting for its place in the write queue (see #inWriteOrder).
  #markedStep: (() => Promise<void>) | null = null;

  /** @internal Use {@link wrap}, {@link connect} or {@link listen}. */
  constructor(pipeline: Pipeline, highWaterMark?: number) {
    super(pipeline, highWaterMark);
    this.role = pipeline.ctx.role;
    this.remote = pipeline.ctx.remote;
    // Failures are kept in `errored` and reject pending promises; this keeps
    // an error with no other listener from crashing the process.
    this.on('error', ignore);
    this.#watchSecureLayers(0);
    pipeline.open(this);
  }

  // The whole stack goes with the connection.
  protected override ended(error: WirestackError | null): void {
    this.releaseSocketSurface();
    this.pipeline.teardown(error);
  }

  /**
   * Destroys the connection and the whole stack. An error given here is
   * coded first, so `errored`, the `'error'` event and rejected promises all
   * carry the same `WirestackError`.
   */
  override destroy(error?: Error): this {
    return super.destroy(error ? toWirestackError(error, 'connection') : error);
  }

  /**
   * Resolves with the topmost TLS layer's session facts once its handshake
   * is done (the `'secure'` event carries the same); rejects if it fails, or
   * with `ERR_WIRESTACK_TLS_UNSUPPORTED` when the stack has no TLS layer.
   */
  get secured(): Promise<SecureInfo> {
    const top = this.topSecureLayer();
    if (top) return top[secureLayer].secured;
    const none = Promise.reject(new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', 'the connection has no TLS layer', { layer: 'connection' }));
    // Merely reading the property must not leave an unhandled rejection behind.
    none.catch(() => {});
    return none;
  }

  /** The topmost TLS layer's state (session facts, how the peer closed), or `undefined` without TLS. */
  get tls(): TlsStatus | undefined {
    return this.topSecureLayer()?.[secureLayer].status();
  }

  // Re-emits 'secure' and 'session' of every secure layer from the record at `from` on.
  #watchSecureLayers(from: number): void {
    const records = this.pipeline.records;
    for (let i = from; i < records.length; i++) {
      const stream = records[i]!.stream;
      if (isSecureLayer(stream)) stream[secureLayer].relayEventsTo(this);
    }
  }

  /** The raw connection below every layer. */
  get raw(): RawInfo {
    const raw = this.pipeline.raw;
    return { stream: raw, fd: fileDescriptorOf(raw) };
  }

  /** The layers, lowest first, with their byte counts and state. */
  get layers(): readonly LayerInfo[] {
    return this.pipeline.records.map(({ name, stream }) => describeLayer(name, stream));
  }

  /** The topmost layer with this name, or undefined. */
  layer(name: string): Duplex | Layer | undefined {
    const records = this.pipeline.records;
    for (let i = records.length - 1; i >= 0; i--) {
      if (records[i]!.name === name) return records[i]!.stream;
    }
    return undefined;
  }

  /** Writes `data` and resolves once the stack has accepted it (backpressure included). */
  send(data: Sendable): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.destroyed || this.writableEnded) {
        reject(this.#failure('send'));
        return;
      }
      this.write(data, (err) => (err ? reject(toWirestackError(err, 'connection')) : resolve()));
    });
  }

  /**
   * Resolves with up to `max` bytes as soon as any are available, or `null`
   * at the end of the stream. Bytes beyond `max` stay for the next call.
   */
  async receive(max = Infinity): Promise<Buffer | null> {
    if (!(max >= 1)) throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `receive(max): max must be ≥ 1, got ${max}`);
    this.#enter('receive');
    try {
      return await this.#receive(max);
    } finally {
      this.#busy = null;
    }
  }

  /**
   * Resolves with exactly `n` bytes; rejects with `ERR_WIRESTACK_EOF` if the
   * stream ends first (the bytes that did arrive are on the error's `partial`).
   */
  async receiveExactly(n: number): Promise<Buffer> {
    if (!(n >= 0) || !Number.isInteger(n)) {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `receiveExactly(n): n must be a whole number ≥ 0, got ${n}`);
    }
    this.#enter('receiveExactly');
    try {
      const chunks: Buffer[] = [];
      let got = 0;
      while (got < n) {
        const chunk = await this.#receive(n - got);
        if (chunk === null) {
          const partial = Buffer.concat(chunks, got);
          throw new WirestackError('ERR_WIRESTACK_EOF',
            `the stream ended after ${got} of ${n} bytes`, { layer: 'connection', partial });
        }
        chunks.push(chunk);
        got += chunk.length;
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got);
    } finally {
      this.#busy = null;
    }
  }

  /**
   * Closes the sending direction gracefully: ends every layer in order
   * (flushes, TLS close_notify, then FIN) and resolves when the end has
   * reached the raw connection. The peer may keep sending; its end arrives
   * as `'end'` (or `receive()` resolving `null`).
   */
  async close(): Promise<void> {
    if (this.writableFinished) return;
    if (this.destroyed) throw this.#failure('close');
    this.end();
    try {
      await finishedPromise(this, { readable: false });
    } catch (err) {
      throw toWirestackError(this.errored ?? err, 'connection');
    }
  }

  /**
   * Iterates over received chunks. Unlike a plain stream's iterator, reaching
   * the end (or leaving the loop) does not destroy the connection: the
   * sending direction stays open, so an echo loop can still answer and
   * `close()` afterwards.
   */
  // Typed as the base class types it, so that the declarations also compile
  // where the lib has AsyncDisposable (a consumer's target esnext).
  override [Symbol.asyncIterator](): NodeJS.AsyncIterator<Buffer> {
    return this.iterator({ destroyOnReturn: false });
  }

  /** Closes gracefully (waiting at most 5 s), then releases everything; for `await using conn = …`. */
  override async [Symbol.asyncDispose](): Promise<void> {
    // A peer that never reads could hold close() for ever; disposal waits a
    // bounded time, then releases everything regardless.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, DISPOSE_CLOSE_MS); });
    try {
      await Promise.race([this.close(), bound]);
    } catch {
      // Disposal must not throw; the failure is still in `errored`.
    } finally {
      clearTimeout(timer);
    }
    this.destroy();
  }

  /**
   * Adds a layer on top of the live connection (the STARTTLS case). Writes
   * already made go out below the new layer; bytes already received but not
   * yet read by the application are handed to the new layer first.
   *
   * (Called with a chunk instead of a filter, this is the Readable's own
   * `push`, which the stream machinery uses.)
   *
   * @example
   * ```ts
   * await conn.send('STARTTLS\r\n');
   * await conn.receive();                    // "OK"
   * await conn.push(tls.client({ ca }));
   * await conn.send('secret');               // encrypted
   * ```
   */
  override push(filter: Filter): Promise<void>;
  override push(chunk: unknown, encoding?: BufferEncoding): boolean;
  override push(chunk: unknown, encoding?: BufferEncoding): boolean | Promise<void> {
    if (isFilter(chunk)) return this.#pushFilter(chunk);
    return super.push(chunk, encoding);
  }

  async #pushFilter(filter: Filter): Promise<void> {
    this.#enter('push');
    try {
      await this.#inWriteOrder('push', () => {
        if (this.destroyed || this.readableEnded) throw this.#failure('push');
        const pipeline = this.pipeline;
        const before = pipeline.records.length;
        const onBareStream = pipeline.top instanceof BottomPort;
        const unread = this.#takeUnread();
        try {
          pipeline.extend(() => void applyFilter(filter, pipeline.topForFold(), pipeline.ctx), unread);
        } catch (err) {
          // On a bare stream the bytes went back into it and come here again; otherwise they are still ours.
          if (unread && !onBareStream) this.unshift(unread);
          throw err;
        }
        this.#watchSecureLayers(before);
      });
    } finally {
      this.#busy = null;
    }
  }

  /**
   * Removes the top layer after it has finished its own shutdown (for TLS,
   * the close_notify exchange); bytes it read that belong to the stream below
   * are handed back, and the connection goes on over the layer below.
   * Rejects with `ERR_WIRESTACK_NOT_REMOVABLE` for a layer that cannot do so.
   */
  async pop(): Promise<void> {
    this.#enter('pop');
    try {
      const pipeline = this.pipeline;
      const record = pipeline.topRecord();
      const top = record?.stream;
      if (!record || !isLayer(top) || top !== pipeline.top) {
        throw new WirestackError('ERR_WIRESTACK_NOT_REMOVABLE',
          record ? `the ${record.name} layer cannot be removed` : 'there is no layer to remove', { layer: record?.name ?? 'connection' });
      }
      await this.#inWriteOrder('pop', async () => {
        const leftovers = await top.unwrap();
        const below = top._lowerSide;
        pipeline.removeTop(top, below);
        // Bytes the layer read that belong to the stream below come to the connection now.
        if (leftovers.length > 0) below._passUp(Buffer.concat(leftovers));
        below._upperReady();
      });
    } finally {
      this.#busy = null;
    }
  }

  #enter(what: string): void {
    if (this.#busy !== null) {
      throw new WirestackError('ERR_WIRESTACK_BUSY', `${what}() while ${this.#busy}() is in progress`, { layer: 'connection' });
    }
    this.#busy = what;
  }

  #failure(what: string): WirestackError {
    if (this.errored) return toWirestackError(this.errored, 'connection');
    return new WirestackError('ERR_WIRESTACK_CLOSED', `${what}(): the connection is closed`, { layer: 'connection' });
  }

  /**
   * Runs `step` (a push or a pop) at this point of the write queue: every
   * earlier write has passed into the old top, and no later write reaches a
   * layer before `step` is done, however the caller interleaves its writes.
   * A failing step rejects the promise but does not fail the stream.
   */
  #inWriteOrder(what: string, step: () => void | Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.destroyed || this.writableEnded) {
        reject(this.#failure(what));
        return;
      }
      let failure: unknown;
      this.#markedStep = async () => {
        try {
          await step();
        } catch (err) {
          failure = err;
        }
      };
      this.write(WRITE_QUEUE_MARK, (err) => {
        if (err) reject(toWirestackError(err, 'connection'));
        else if (failure !== undefined) reject(failure);
        else resolve();
      });
    });
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (chunk === WRITE_QUEUE_MARK) this.#runMarkedStep(callback);
    else super._write(chunk, encoding, callback);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _writev(entries: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    const at = entries.findIndex((entry) => entry.chunk === WRITE_QUEUE_MARK);
    if (at < 0) {
      super._writev(entries, callback);
      return;
    }
    // A batch that holds the mark: what came before goes to the old top,
    // then the step runs, then the rest goes to the new top.
    const before = entries.slice(0, at);
    const after = entries.slice(at + 1);
    const rest = (err?: Error | null): void => {
      if (err) return callback(err);
      this.#runMarkedStep((stepErr) => {
        if (stepErr) callback(stepErr);
        else if (after.length > 0) this._writev(after, callback);
        else callback();
      });
    };
    if (before.length > 0) super._writev(before, rest);
    else rest();
  }

  #runMarkedStep(done: (err?: Error | null) => void): void {
    const step = this.#markedStep;
    this.#markedStep = null;
    if (step) void step().then(() => done());
    else done();
  }

  #takeUnread(): Buffer | null {
    const chunks: Buffer[] = [];
    for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null) chunks.push(chunk);
    if (chunks.length === 0) return null;
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  async #receive(max: number): Promise<Buffer | null> {
    for (;;) {
      if (this.readableLength > 0) return this.read(Math.min(max, this.readableLength)) as Buffer;
      if (this.errored) throw toWirestackError(this.errored, 'connection');
      if (this.readableEnded) return null;
      if (this.destroyed) throw this.#failure('receive');
      await this.#readableOrEnd();
    }
  }

  // Waits for bytes, the end, or a failure; whichever comes first.
  #readableOrEnd(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.off('readable', done);
        this.off('end', done);
        this.off('close', done);
        this.off('error', done);
        resolve();
      };
      this.on('readable', done);
      this.on('end', done);
      this.on('close', done);
      this.on('error', done);
      // Asks for data and, if the stream has ended, lets 'end' be emitted.
      this.read(0);
    });
  }
}

/**
 * Applies `filters` (lowest first) to any Duplex and returns the connection.
 *
 * @example
 * ```ts
 * const [a, b] = duplexPair();
 * const client = wrap(a, [], { role: 'client' });
 * const server = wrap(b, [], { role: 'server' });
 * ```
 */
export function wrap(raw: Duplex, filters?: Filter | readonly Filter[], options: WrapOptions = {}): Connection {
  const pipeline = new Pipeline(raw, options.role ?? 'client', options.remote ?? {});
  const ctx = pipeline.ctx;
  const stack = toStack(filters);
  try {
    pipeline.build(() => stack.attach(raw, ctx));
  } catch (err) {
    // A filter that cannot be made must not leave anything open.
    pipeline.teardown(null);
    throw err;
  }
  return new Connection(pipeline, options.highWaterMark);
}

function isFilter(value: unknown): value is Filter {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) &&
    typeof (value as { attach?: unknown }).attach === 'function';
}

function describeLayer(name: string, stream: Duplex | Layer): LayerInfo {
  if (isLayer(stream)) {
    const { stats } = stream;
    return {
      name, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, chunksIn: stats.chunksIn, chunksOut: stats.chunksOut,
      state: stream.state, stats, stream,
    };
  }
  const stats = statsOf(stream);
  const ended = (stream.readableEnded ? 1 : 0) + (stream.writableFinished ? 1 : 0);
  const state = stream.destroyed || ended === 2 ? 'closed' : ended === 1 ? 'half-closed' : 'open';
  return {
    name,
    bytesIn: stats?.bytesIn,
    bytesOut: stats?.bytesOut,
    chunksIn: stats?.chunksIn,
    chunksOut: stats?.chunksOut,
    state,
    stats,
    stream,
  };
}

// Streams that filters return may still keep counts on a `stats` property.
function statsOf(stream: Duplex): LayerStats | undefined {
  const stats = (stream as { stats?: unknown }).stats;
  return stats && typeof stats === 'object' && 'bytesIn' in stats ? (stats as LayerStats) : undefined;
}

// A socket's handle holds its fd; a TLS socket's handle wraps the one that does.
function fileDescriptorOf(stream: Duplex): number | undefined {
  const handle = (stream as { _handle?: { fd?: unknown; _parent?: { fd?: unknown } } | null })._handle;
  const fd = handle?._parent?.fd ?? handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

import { Duplex } from './stream.js';

/** Options for {@link duplexPair}. */
export interface DuplexPairOptions {
  /** Bytes each end buffers for its reader before the writer waits (default 16 KiB). */
  highWaterMark?: number;
  /**
   * Buffer nothing: a write completes only once the other end's reader has
   * taken it, so any missing backpressure or hidden buffering above shows.
   */
  lockstep?: boolean;
  /** Delivers every write in pieces of at most this many bytes (1: one byte at a time). */
  maxChunkSize?: number;
  /** Cuts every write into pieces as it likes (seeded fragmentation in tests). */
  split?: (chunk: Buffer) => Buffer[];
}

type Callback = (err?: Error | null) => void;

/**
 * One end of an in-memory connection made by {@link duplexPair}. What one end
 * writes the other reads; `end()` is a FIN, `destroy()` before the end is a
 * reset (the other end sees `ECONNRESET`), as with TCP.
 */
export class MemoryEnd extends Duplex {
  // The other end; set once, right after both are made.
  #peer!: MemoryEnd;
  readonly #lockstep: boolean;
  readonly #split: ((chunk: Buffer) => Buffer[]) | undefined;
  // Pieces of the peer's current write not yet pushed to our reader; at most one write's worth.
  #incoming: Buffer[] = [];
  // The peer's write callback, held until our reader has room (or, in lockstep, has read).
  #incomingDone: Callback | null = null;
  // Set when the peer was destroyed after its end: our writes have nowhere to go.
  #peerGone = false;

  /** @internal */
  constructor(options: DuplexPairOptions) {
    const hwm = options.lockstep ? 0 : options.highWaterMark ?? 16 * 1024;
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm });
    this.#lockstep = options.lockstep ?? false;
    const max = options.maxChunkSize;
    this.#split = options.split ?? (max !== undefined && max > 0 ? (chunk) => cut(chunk, max) : undefined);
  }

  /** @internal */
  static link(a: MemoryEnd, b: MemoryEnd): void {
    a.#peer = b;
    b.#peer = a;
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    if (this.#peerGone || this.#peer.destroyed) {
      callback(Object.assign(new Error('write to a closed memory connection'), { code: 'EPIPE' }));
      return;
    }
    this.#peer.#receive(chunk, callback);
  }

  /** Node's stream hook: a batch crosses as one chunk, as a socket's writev does. @hidden */
  override _writev(entries: Array<{ chunk: Buffer }>, callback: Callback): void {
    this._write(Buffer.concat(entries.map((entry) => entry.chunk)), 'binary', callback);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _final(callback: Callback): void {
    if (!this.#peer.destroyed) this.#peer.push(null);
    callback();
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _read(): void {
    this.#flushIncoming(true);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _destroy(err: Error | null, callback: Callback): void {
    const peer = this.#peer;
    // The peer's write that our reader had not taken yet fails, as on a socket.
    this.#incoming = [];
    const held = this.#incomingDone;
    this.#incomingDone = null;
    held?.(Object.assign(new Error('the other end closed'), { code: 'EPIPE' }));
    // Our own write the peer still holds fails with us, as on a socket.
    peer.#incoming = [];
    const ours = peer.#incomingDone;
    peer.#incomingDone = null;
    ours?.(Object.assign(new Error('the memory connection was destroyed'), { code: 'EPIPE' }));
    if (!peer.destroyed) {
      // After our FIN the peer has its end and only its writes fail; before
      // it, destroying is a reset, as with TCP.
      if (this.writableFinished) peer.#peerGone = true;
      else peer.destroy(Object.assign(new Error('connection reset by the other end'), { code: 'ECONNRESET' }));
    }
    callback(err);
  }

  #receive(chunk: Buffer, done: Callback): void {
    this.#incoming = this.#split ? this.#split(chunk) : [chunk];
    this.#incomingDone = done;
    this.#flushIncoming();
  }

  // Reading is how the lockstep writer learns its bytes were taken.
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (this.#lockstep && this.readableLength === 0) this.#flushIncoming();
    return chunk;
  }

  // Pushes what the peer wrote to our reader, and completes the peer's write
  // when the reader has room (`asked`: it has just asked for more) or, in
  // lockstep, when the reader has taken every byte.
  #flushIncoming(asked = false): void {
    let room = true;
    while (room && this.#incoming.length > 0) room = this.push(this.#incoming.shift()!);
    if (this.#incoming.length > 0 || !this.#incomingDone) return;
    if (this.#lockstep ? this.readableLength === 0 : room || asked) {
      const done = this.#incomingDone;
      this.#incomingDone = null;
      done();
    }
  }
}

/**
 * Two connected in-memory streams: what one writes, the other reads. For
 * tests, and for stacks that talk to each other in one process.
 *
 * @example
 * ```ts
 * const [a, b] = duplexPair({ maxChunkSize: 1 });   // every byte its own chunk
 * const client = wrap(a, tls.client({ ca }), { role: 'client' });
 * const server = wrap(b, tls.server({ cert, key }), { role: 'server' });
 * ```
 */
export function duplexPair(options: DuplexPairOptions = {}): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd(options);
  const b = new MemoryEnd(options);
  MemoryEnd.link(a, b);
  return [a, b];
}

function cut(chunk: Buffer, max: number): Buffer[] {
  if (chunk.length <= max) return [chunk];
  const pieces: Buffer[] = [];
  for (let i = 0; i < chunk.length; i += max) pieces.push(chunk.subarray(i, i + max));
  return pieces;
}

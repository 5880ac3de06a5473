/**
 * A Duplex over a WebSocket: the browser's `WebSocket`, or the `ws`
 * package's on Node (both have the WHATWG interface used here). Bytes go
 * as binary messages, one per write (a large one in pieces of 1 MiB), so
 * the stream can be the raw connection under a stack.
 *
 * A WebSocket has no half-close: once either side sends a Close frame the
 * other must soon answer and stop. So `end()` sends an empty binary message
 * instead, which says "no more from me" and nothing else (data messages are
 * never empty), and the WebSocket is closed (1000) only when both sides have
 * said it. A relay in front of a TCP service (`wirestack relay --websocket`)
 * turns that message into the TCP FIN and the service's FIN into one. A
 * peer that knows nothing of it (websockify) ignores the empty message; its
 * clean close (1000) is then the end of what it sends.
 */
import { WirestackError } from './errors.js';
import { Duplex } from './stream.js';

/** The part of the WHATWG WebSocket interface used (a browser's, Node's or Deno's global, or `ws`'s). */
export interface WebSocketLike {
  /** Set to `'arraybuffer'` (or `'nodebuffer'` with `ws`): messages arrive as bytes. */
  binaryType: string;
  /** The WebSocket's state: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes sent but not yet on the network; writes wait while it is high. */
  readonly bufferedAmount: number;
  /** The subprotocol the server chose (`'binary'` through websockify). */
  readonly protocol: string;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Listens for `'open'`, `'message'`, `'close'` and `'error'`. */
  addEventListener(type: string, listener: (event: never) => void): void;
  /** Stops listening. */
  removeEventListener(type: string, listener: (event: never) => void): void;
  /** `ws` only: stops reading from the socket (backpressure), until `resume()`. */
  pause?(): void;
  /** `ws` only: reads from the socket again. */
  resume?(): void;
}

/** Options of {@link WebSocketStream}. */
export interface WebSocketStreamOptions {
  /**
   * Most bytes that may wait unread where the WebSocket cannot be paused (a
   * browser's: its API has no read backpressure); past it the stream fails
   * with `ERR_WIRESTACK_WEBSOCKET` rather than hold ever more (default 64 MiB).
   */
  maxUnreadBytes?: number;
  /** Most bytes queued in the WebSocket before a write waits for them to go out (default 1 MiB). */
  maxBufferedBytes?: number;
}

const OPEN = 1;
const CLOSING = 2;
const NORMAL_CLOSURE = 1000;
// Sent in a Close frame when the stream is destroyed before both ends were
// exchanged: an application code (4000–4999, which browsers may send), so
// the peer reports an abnormal close.
const DESTROYED = 4000;
// 1005: a Close frame without a code, which peers send for a normal close too.
const NO_STATUS = 1005;
const DEFAULT_MAX_UNREAD = 64 * 1024 * 1024;
// A large write goes as several messages of at most this size: servers cap
// a message's size (ws: 100 MiB by default, listen({ webSocket }): 16 MiB).
const MAX_MESSAGE = 1024 * 1024;
const DEFAULT_MAX_BUFFERED = 1024 * 1024;
// How often a write waiting for the WebSocket's buffer to empty looks again:
// the WebSocket API has no event for it.
const DRAIN_POLL_MS = 2;

/** A WebSocket as a byte stream; see the module comment for what `end()` means. */
export class WebSocketStream extends Duplex {
  /** The WebSocket the stream reads and writes. */
  readonly socket: WebSocketLike;
  readonly #maxUnread: number;
  readonly #maxBuffered: number;
  // Set when the peer's end (an empty message, or its clean close) has been pushed.
  #peerEnded = false;
  // Set once our end (the empty message) has been sent.
  #endSent = false;
  // Set while reading is paused on a `ws` socket.
  #paused = false;
  // The last error the socket reported; the close that follows says how it ended.
  #socketError: Error | null = null;
  // A write's callback while it waits for the WebSocket's buffer to empty.
  #waitingWrite: ((error?: Error | null) => void) | null = null;

  constructor(socket: WebSocketLike, options: WebSocketStreamOptions = {}) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    this.#maxUnread = options.maxUnreadBytes ?? DEFAULT_MAX_UNREAD;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    // ws gives Buffers without a copy; a browser gives ArrayBuffers.
    socket.binaryType = typeof socket.pause === 'function' ? 'nodebuffer' : 'arraybuffer';
    socket.addEventListener('message', this.#onMessage);
    socket.addEventListener('close', this.#onClose);
    socket.addEventListener('error', this.#onError);
  }

  #onMessage = (event: { data: unknown }): void => {
    const bytes = toBuffer(event.data);
    if (bytes === null) {
      this.destroy(new WirestackError('ERR_WIRESTACK_WEBSOCKET', 'websocket: a text message arrived; only binary messages carry bytes', { layer: 'websocket' }));
      return;
    }
    if (this.#peerEnded) {
      this.destroy(new WirestackError('ERR_WIRESTACK_WEBSOCKET', 'websocket: data arrived after the peer\'s end', { layer: 'websocket' }));
      return;
    }
    if (bytes.length === 0) {
      this.#peerEnded = true;
      this.push(null);
      // No more data will come; a paused socket would also hold back the Close frame.
      this.#resume();
      this.#closeWhenBothEnded();
      return;
    }
    if (this.push(bytes)) return;
    // Full: a `ws` socket stops reading; a browser's cannot, so what waits is bounded instead.
    if (typeof this.socket.pause === 'function') {
      this.#paused = true;
      this.socket.pause();
    } else if (this.readableLength > this.#maxUnread) {
      this.destroy(new WirestackError('ERR_WIRESTACK_WEBSOCKET',
        `websocket: more than ${this.#maxUnread} bytes arrived unread (this WebSocket cannot be paused; raise maxUnreadBytes or read faster)`,
        { layer: 'websocket' }));
    }
  };

  #onError = (event: { error?: unknown; message?: unknown }): void => {
    // A browser says nothing more than that something failed; the close event follows.
    const error = event.error instanceof Error ? event.error : null;
    this.#socketError = error ?? new Error(typeof event.message === 'string' ? event.message : 'the WebSocket failed');
  };

  #onClose = (event: { code: number; reason: string }): void => {
    this.#detach();
    if (this.destroyed) return;
    const clean = (event.code === NORMAL_CLOSURE || event.code === NO_STATUS) && this.#socketError === null;
    if (!clean) {
      const why = this.#socketError ? `: ${this.#socketError.message}` : event.reason ? `: ${event.reason}` : '';
      this.destroy(new WirestackError('ERR_WIRESTACK_WEBSOCKET',
        `websocket: closed abnormally (code ${event.code}${why})`, { layer: 'websocket', ...(this.#socketError ? { cause: this.#socketError } : {}) }));
      return;
    }
    // A clean close ends what the peer sends. Our own end may already be
    // out; if not, nothing more can be sent and a write (one waiting now,
    // or a later one) fails. The stream closes itself once its reader has
    // had the end.
    if (!this.#peerEnded) {
      this.#peerEnded = true;
      this.push(null);
    }
    const waiting = this.#waitingWrite;
    this.#waitingWrite = null;
    waiting?.(this.#notOpen());
  };

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _read(): void {
    this.#resume();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume?.();
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length === 0) return callback();
    if (this.socket.readyState !== OPEN) return callback(this.#notOpen());
    for (let at = 0; at < chunk.length; at += MAX_MESSAGE) this.socket.send(chunk.subarray(at, at + MAX_MESSAGE));
    this.#whenBuffered(callback);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _final(callback: (error?: Error | null) => void): void {
    // The peer closed cleanly and everything we sent was handed on: nothing is left to say.
    if (this.socket.readyState !== OPEN) return callback(this.socket.bufferedAmount === 0 && this.#peerEnded ? null : this.#notOpen());
    this.socket.send(new Uint8Array(0));
    this.#endSent = true;
    this.#whenBuffered((err) => {
      callback(err);
      this.#closeWhenBothEnded();
    });
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#detach();
    const state = this.socket.readyState;
    if (state < CLOSING) {
      const both = this.#endSent && this.#peerEnded && err === null;
      // The reason names the failure's code, so the peer learns why.
      const code = (err as { code?: unknown } | null)?.code;
      this.socket.close(both ? NORMAL_CLOSURE : DESTROYED, both ? '' : typeof code === 'string' ? code.slice(0, 120) : 'destroyed');
    }
    callback(err);
  }

  // Calls `done` once the WebSocket's own buffer is below its bound; the API
  // has no event for that, so it is looked at again every few milliseconds.
  #whenBuffered(done: (error?: Error | null) => void): void {
    if (this.socket.bufferedAmount <= this.#maxBuffered) return done();
    const look = (): void => {
      // Closed meanwhile: the close event says how, and fails the stream
      // (an abnormal close, with its code) or this write (a clean one).
      if (this.destroyed || this.socket.readyState !== OPEN) return;
      if (this.socket.bufferedAmount <= this.#maxBuffered / 2) {
        this.#waitingWrite = null;
        return done();
      }
      setTimeout(look, DRAIN_POLL_MS);
    };
    this.#waitingWrite = done;
    setTimeout(look, DRAIN_POLL_MS);
  }

  #closeWhenBothEnded(): void {
    if (!this.#endSent || !this.#peerEnded || this.socket.readyState !== OPEN) return;
    // Both ends said: the Close frame goes after our last data, and the stream is done.
    this.socket.close(NORMAL_CLOSURE);
  }

  #notOpen(): WirestackError {
    return new WirestackError('ERR_WIRESTACK_CLOSED', 'websocket: the WebSocket is closed; the bytes could not be sent', { layer: 'websocket' });
  }

  #detach(): void {
    this.socket.removeEventListener('message', this.#onMessage);
    this.socket.removeEventListener('close', this.#onClose);
    this.socket.removeEventListener('error', this.#onError);
  }
}

// A binary message's bytes (empty for the end), or null for a text message.
function toBuffer(data: unknown): Buffer | null {
  if (typeof data === 'string') return null;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // ws with binaryType 'nodebuffer' may hand over a fragmented message as an array of Buffers.
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  return null;
}

/**
 * The node engine's ciphertext port on the stream path: a `net.Socket`
 * whose handle is Node's JSStream, so `tls.TLSSocket` takes it as it takes a
 * TCP socket (it has a `_handle`) and OpenSSL's records go straight between
 * this object and the engine session, with no Duplex in between.
 *
 * Why not hand TLSSocket a plain Duplex: it then wraps it in Node's internal
 * JSStreamSocket, which feeds ciphertext through the Duplex's 'data' events
 * and finishes every write a `setImmediate` later, so OpenSSL waits a whole
 * event-loop turn per record batch. This class is that same JSStreamSocket
 * (taken from Node at run time: it is not exported) with its write and
 * shutdown paths replaced: a write finishes as soon as the transport took it
 * (a tick later when that was synchronous, since the TLS handle must not be
 * re-entered from inside its own write), and ciphertext from the transport
 * goes into the handle with one call. Where Node's internals are not what
 * this expects (or `WIRESTACK_NODE_INTERNALS=0`), {@link createCipherSocket}
 * gives `null` and the engine uses a Duplex port instead.
 */
import net from 'node:net';
import tls from 'node:tls';
import { getSystemErrorMap } from 'node:util';
import { probeTlsSocket } from './internals.js';

type Callback = (err?: Error | null) => void;

/** What a {@link CipherSocket} needs from the engine session that owns it. */
export interface CipherSink {
  /** Sends records to the peer; `done` when the transport has room again. */
  transmit(chunks: Buffer[], done: Callback): void;
  /** OpenSSL has sent everything it will send (close_notify included). */
  shutdown(): void;
}

/** A ciphertext port: records in with {@link CipherSocket.feed}, out through the sink. */
export interface CipherSocket extends net.Socket {
  /** Ciphertext from the transport, processed (decrypted, delivered) before this returns. */
  feed(chunk: Buffer): void;
  /** The transport's end; OpenSSL sees it before this returns. */
  feedEnd(): void;
}

// The JSStream handle's methods this class calls (src/js_stream.cc).
interface JsStreamHandle {
  readBuffer(chunk: Buffer): void;
  emitEOF(): void;
  finishWrite(req: object, status: number): void;
  finishShutdown(req: object, status: number): void;
}

// JSStreamSocket as far as this class relies on it (lib/internal/js_stream_socket.js).
type JsStreamSocketClass = new (stream: object) => net.Socket & {
  doClose(callback: () => void): void;
};

// The libuv status a failed write is finished with.
const UV_EPIPE = uvCode('EPIPE');

function uvCode(name: string): number {
  for (const [code, [errName]] of getSystemErrorMap()) if (errName === name) return code;
  return -1;
}

// The stand-in for the stream JSStreamSocket's constructor wants to wrap:
// nothing reads or writes it, since feed() and doWrite() replace both paths.
function idleStream(): object {
  const stream = {
    readable: true,
    writable: true,
    readableObjectMode: false,
    pause: () => stream,
    resume: () => stream,
    on: () => stream,
    once: () => stream,
    destroy: () => stream,
  };
  return stream;
}

type CipherSocketFactory = (sink: CipherSink) => CipherSocket;

// Undefined until the first port is asked for; null when Node's internals do not allow one.
let cipherSocketFactory: CipherSocketFactory | null | undefined;

/**
 * A new port for one session, or `null` where this Node's internals do not
 * allow one (found out once, before the first session opens) or making it
 * failed: the engine then uses a public Duplex port instead.
 */
export function createCipherSocket(sink: CipherSink): CipherSocket | null {
  if (cipherSocketFactory === undefined) cipherSocketFactory = probeTlsSocket(makeCipherSocketFactory, null);
  if (cipherSocketFactory === null) return null;
  try {
    return cipherSocketFactory(sink);
  } catch {
    return null;
  }
}

// Finds JSStreamSocket and its JSStream handle through the TLSSocket Node
// makes over a Duplex (`_parentWrap`, `_parent`), checks they have what this
// class overrides and calls, derives the port class and makes one trial
// port; null when anything is missing (a throw is caught by the probe).
function makeCipherSocketFactory(probe: tls.TLSSocket): CipherSocketFactory | null {
  const tlsHandle = (probe as unknown as { _handle: { _parentWrap?: object; _parent?: Record<string, unknown> } | null })._handle;
  const Base = tlsHandle?._parentWrap?.constructor as JsStreamSocketClass | undefined;
  const handle = tlsHandle?._parent;
  const has = (object: object | undefined, names: readonly string[]): boolean =>
    object !== undefined && names.every((name) => typeof (object as Record<string, unknown>)[name] === 'function');
  if (typeof Base !== 'function' || !(Base.prototype instanceof net.Socket) ||
    !has(Base.prototype, ['doWrite', 'doShutdown', 'doClose', 'finishWrite', 'finishShutdown', 'readStart', 'readStop']) ||
    !has(handle, ['readBuffer', 'emitEOF', 'finishWrite', 'finishShutdown']) ||
    UV_EPIPE === -1) {
    return null;
  }

  class Port extends Base implements CipherSocket {
    // Set once, right after the base constructor (which must not see private fields yet).
    #sink!: CipherSink;
    // The write request OpenSSL has in flight (at most one), until finished or cancelled.
    #write: object | null = null;
    // The shutdown request in progress, and one that waits for #write to finish.
    #shutdown: object | null = null;
    #pendingShutdown: object | null = null;
    // Set by doClose(): the handle is going; requests are only cancelled now.
    #closing = false;

    static create(sink: CipherSink): Port {
      const port = new Port(idleStream());
      port.#sink = sink;
      // TLSSocket copies allowHalfOpen from what it wraps; TLS 1.3 half-close needs it.
      port.allowHalfOpen = true;
      return port;
    }

    feed(chunk: Buffer): void {
      this.#handle()?.readBuffer(chunk);
    }

    feedEnd(): void {
      this.#handle()?.emitEOF();
    }

    #handle(): JsStreamHandle | null {
      return (this as unknown as { _handle: JsStreamHandle | null })._handle;
    }

    // Called by the handle (through JSStreamSocket's onwrite) with OpenSSL's records.
    doWrite(req: object, chunks: Buffer[]): number {
      const handle = this.#handle();
      if (this.#closing) {
        // doClose() cancels it shortly.
        this.#write = req;
        return 0;
      }
      if (handle === null) return 0;
      this.#write = req;
      let inside = true;
      this.#sink.transmit(chunks, (err) => {
        const status = err ? UV_EPIPE : 0;
        // Finishing re-enters the TLS handle, which is still inside this write.
        if (inside) process.nextTick(() => this.#finishWrite(handle, req, status));
        else this.#finishWrite(handle, req, status);
      });
      inside = false;
      return 0;
    }

    #finishWrite(handle: JsStreamHandle, req: object, status: number): void {
      if (this.#write === req) this.finishWrite(handle, status);
    }

    // Also called by JSStreamSocket's doClose() to cancel.
    finishWrite(handle: JsStreamHandle, status: number): void {
      const req = this.#write;
      if (req === null) return;
      this.#write = null;
      handle.finishWrite(req, status);
      const shutdown = this.#pendingShutdown;
      this.#pendingShutdown = null;
      if (shutdown) this.doShutdown(shutdown);
    }

    // TLS shuts its transport down right after writing close_notify, with
    // that write possibly still in flight: the shutdown then waits for it.
    doShutdown(req: object): number {
      if (this.#write !== null) {
        this.#pendingShutdown = req;
        return 0;
      }
      this.#shutdown = req;
      if (this.#closing) return 0;
      const handle = this.#handle()!;
      process.nextTick(() => {
        this.#sink.shutdown();
        this.finishShutdown(handle, 0);
      });
      return 0;
    }

    finishShutdown(handle: JsStreamHandle, status: number): void {
      const req = this.#shutdown;
      if (req === null) return;
      this.#shutdown = null;
      handle.finishShutdown(req, status);
    }

    override doClose(callback: () => void): void {
      this.#closing = true;
      super.doClose(callback);
    }
  }
  Port.create({ transmit: (_chunks, done) => done(), shutdown: () => {} }).destroy();
  return (sink) => Port.create(sink);
}

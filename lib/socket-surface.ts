/**
 * The part of `net.Socket`'s API that code written for sockets calls on
 * whatever it is handed: `http.Agent` (setKeepAlive, ref, unref,
 * setTimeout), `ws` (setTimeout, setNoDelay), `pg` (connect, the `'connect'`
 * event), undici and `http2` (encrypted, alpnProtocol), user code
 * (remoteAddress). A connection answers by asking its raw stream: a
 * `net.Socket` answers for itself; a memory pair or a user's Duplex has no
 * such thing, so the setters do nothing and the facts are `undefined`.
 *
 * The idle timer (`setTimeout` and `'timeout'`) is the connection's own, not
 * the raw socket's: with TLS on the native path the socket's handle belongs
 * to OpenSSL and the socket itself sees no traffic any more.
 */
import type { AddressInfo, SocketConnectOpts, SocketReadyState } from 'node:net';
import type tls from 'node:tls';
import { WirestackError } from './errors.js';
import { unrefTimer } from './runtime.js';
import { type Pipeline, PipelineEnd } from './pipeline.js';
import { isSecureLayer, secureLayer, type SecureLayer, type TlsSocketFacts } from './secure-layer.js';
import type { Duplex } from './stream.js';

// What a raw stream may have of net.Socket's API; a net.Socket has all of it.
interface SocketParts {
  setKeepAlive?: (enable?: boolean, initialDelay?: number) => unknown;
  setNoDelay?: (noDelay?: boolean) => unknown;
  ref?: () => unknown;
  unref?: () => unknown;
  address?: () => AddressInfo | Record<string, never>;
  connect?: (...args: unknown[]) => unknown;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  connecting?: boolean;
  pending?: boolean;
}

// The largest delay Node's timers take (2^31 - 1 ms).
const TIMEOUT_MAX = 2 ** 31 - 1;

/**
 * The socket-like members of a {@link Connection}, each following the raw
 * stream (see the table in the README). Not made directly.
 */
export abstract class SocketSurface extends PipelineEnd {
  // The idle timer while setTimeout(ms > 0) is in force; refreshed by traffic.
  #idleTimer: NodeJS.Timeout | null = null;
  // The last setTimeout() value, as net.Socket's `timeout` reports it.
  #timeoutMs: number | undefined = undefined;

  /** @internal */
  constructor(pipeline: Pipeline, highWaterMark?: number) {
    super(pipeline, highWaterMark);
    // A raw socket wrapped while still connecting says so when it has.
    if (this.#socket.connecting === true) this.#forwardConnect();
  }

  get #socket(): Duplex & SocketParts {
    return this.pipeline.raw as Duplex & SocketParts;
  }

  #call<K extends 'setKeepAlive' | 'setNoDelay' | 'ref' | 'unref'>(name: K, ...args: Parameters<NonNullable<SocketParts[K]>>): this {
    const socket = this.#socket;
    const method = socket[name];
    if (typeof method === 'function') (method as (...a: unknown[]) => unknown).apply(socket, args);
    return this;
  }

  /** Enables TCP keep-alive on the raw socket, as `net.Socket#setKeepAlive`; nothing on other streams. */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    return this.#call('setKeepAlive', enable, initialDelay);
  }

  /** Disables (or, with `false`, enables) Nagle's algorithm on the raw socket; nothing on other streams. */
  setNoDelay(noDelay?: boolean): this {
    return this.#call('setNoDelay', noDelay);
  }

  /** Lets the process exit while only this connection is open (the raw socket's `unref()`). */
  unref(): this {
    return this.#call('unref');
  }

  /** Undoes {@link Connection.unref}. */
  ref(): this {
    return this.#call('ref');
  }

  /**
   * Emits `'timeout'` once the connection has been idle for `timeout`
   * milliseconds, as `net.Socket#setTimeout`: idle means no bytes read or
   * written at the bottom of the stack (and no large write draining). The
   * connection stays open; ending it is up to the listener. `0` turns the
   * timer off; `callback` is added as a one-time `'timeout'` listener (or,
   * with `0`, removed). The timer never keeps the process alive.
   */
  setTimeout(timeout: number, callback?: () => void): this {
    if (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= TIMEOUT_MAX)) {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT',
        `setTimeout(timeout): timeout must be a number of milliseconds from 0 to ${TIMEOUT_MAX}, got ${String(timeout)}`);
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', 'setTimeout(timeout, callback): callback must be a function');
    }
    this.#timeoutMs = timeout;
    this.#stopIdleTimer();
    if (timeout === 0) {
      if (callback) this.off('timeout', callback);
      return this;
    }
    if (this.destroyed) return this;
    this.#idleTimer = unrefTimer(setTimeout(() => this.emit('timeout'), timeout));
    const timer = this.#idleTimer;
    this.pipeline.onActivity = () => timer.refresh();
    if (callback) this.once('timeout', callback);
    return this;
  }

  /** The idle timeout last given to {@link Connection.setTimeout}, in milliseconds. */
  get timeout(): number | undefined {
    return this.#timeoutMs;
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer === null) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.pipeline.onActivity = null;
  }

  /**
   * Connects a raw `net.Socket` that was wrapped unconnected, with
   * `net.Socket#connect`'s arguments (this is what `pg` calls on its
   * `stream`); `'connect'` follows. Only layers that wait for the peer
   * (not a TLS client, which writes at once) may sit on a socket that is not
   * connected yet. Throws `ERR_WIRESTACK_INVALID_ARGUMENT` on a raw stream
   * that cannot connect.
   */
  connect(options: SocketConnectOpts, connectionListener?: () => void): this;
  connect(port: number, host: string, connectionListener?: () => void): this;
  connect(port: number, connectionListener?: () => void): this;
  connect(path: string, connectionListener?: () => void): this;
  connect(...args: unknown[]): this {
    const socket = this.#socket;
    if (typeof socket.connect !== 'function') {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', 'connect(): the raw stream is not a socket that can connect', { layer: 'connection' });
    }
    socket.connect(...args);
    this.#forwardConnect();
    return this;
  }

  // Re-emits the raw socket's 'connect' and 'ready' (once each).
  #forwardConnect(): void {
    const socket = this.#socket;
    const onConnect = this.#onConnect ??= () => {
      if (this.destroyed) return;
      this.emit('connect');
      this.emit('ready');
    };
    socket.removeListener('connect', onConnect);
    socket.once('connect', onConnect);
  }

  // The 'connect' listener, made only for a socket that is still connecting.
  #onConnect: (() => void) | undefined;

  /** The raw socket's bound address, as `net.Socket#address()`; `{}` for other streams. */
  address(): AddressInfo | {} {
    const socket = this.#socket;
    return typeof socket.address === 'function' ? socket.address() : {};
  }

  /** The peer's IP address (raw socket), or `undefined`. */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** The peer's port (raw socket), or `undefined`. */
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }

  /** `'IPv4'` or `'IPv6'` (raw socket), or `undefined`. */
  get remoteFamily(): string | undefined {
    return this.#socket.remoteFamily;
  }

  /** The local IP address (raw socket), or `undefined`. */
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /** The local port (raw socket), or `undefined`. */
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }

  /** `'IPv4'` or `'IPv6'` of the local address (raw socket), or `undefined`. */
  get localFamily(): string | undefined {
    return this.#socket.localFamily;
  }

  /** Application bytes received: what the connection has handed up to its reader. Each layer's own counts are in `conn.layers`. */
  get bytesRead(): number {
    return this.stats.bytesIn;
  }

  /** Application bytes sent: what was written to the connection and taken by the stack. */
  get bytesWritten(): number {
    return this.stats.bytesOut;
  }

  /** Whether the raw socket is still connecting (`'connect'` follows). */
  get connecting(): boolean {
    return this.#socket.connecting === true;
  }

  /** Whether the raw socket is not connected yet (or no longer), as `net.Socket#pending`; `false` for other streams. */
  get pending(): boolean {
    return this.#socket.pending === true;
  }

  /** `'opening'` while the raw socket connects, then `'open'`, `'readOnly'`, `'writeOnly'` or `'closed'` by the connection's own two directions. */
  get readyState(): SocketReadyState {
    if (this.connecting) return 'opening';
    if (this.readable) return this.writable ? 'open' : 'readOnly';
    return this.writable ? 'writeOnly' : 'closed';
  }

  /** Whether the stack has a TLS layer (as `tls.TLSSocket#encrypted`, which is always `true`). */
  get encrypted(): boolean {
    return this.topSecureLayer() !== undefined;
  }

  /**
   * The ALPN protocol the topmost TLS layer agreed, as `tls.TLSSocket#alpnProtocol`:
   * `null` before its handshake is done, `false` when none was agreed, and
   * `undefined` without a TLS layer (like a `net.Socket`).
   */
  get alpnProtocol(): string | false | null | undefined {
    const top = this.topSecureLayer();
    if (top === undefined) return undefined;
    const info = top[secureLayer].status().info;
    return info === undefined ? null : info.alpn ?? false;
  }

  // ── the TLS part: the topmost TLS layer, as tls.TLSSocket shows a session ──

  #tls(): TlsSocketFacts | undefined {
    return this.topSecureLayer()?.[secureLayer].tlsSocket;
  }

  /**
   * Whether the topmost TLS layer accepted the peer's certificate: chain,
   * dates and, on a client, the host name (`tls.TLSSocket#authorized`
   * checks the chain only). `false` before the handshake, and without TLS.
   */
  get authorized(): boolean {
    return this.#tls()?.authorized ?? false;
  }

  /**
   * Why the peer's certificate was not accepted, as `tls.TLSSocket` names it
   * (`'CERT_HAS_EXPIRED'`, `'ERR_TLS_CERT_ALTNAME_INVALID'`, …); `null` when
   * it was, `undefined` without TLS. Seen only with `rejectUnauthorized: false`.
   */
  get authorizationError(): string | null | undefined {
    const facts = this.#tls();
    return facts === undefined ? undefined : facts.authorizationError;
  }

  /** The server name (SNI): the one a client sent, or the one a server was asked for; `undefined` without TLS. */
  get servername(): string | false | null | undefined {
    return this.#tls()?.servername;
  }

  /** The peer's certificate in `tls.TLSSocket`'s shape (`{}` before the handshake or when none was sent); `undefined` without TLS. */
  getPeerCertificate(detailed?: boolean): tls.PeerCertificate | tls.DetailedPeerCertificate | Record<string, never> | undefined {
    return this.#tls()?.getPeerCertificate(detailed);
  }

  /** The cipher suite, as `tls.TLSSocket#getCipher()`; `undefined` without TLS. */
  getCipher(): tls.CipherNameAndProtocol | Record<string, never> | undefined {
    return this.#tls()?.getCipher();
  }

  /** The protocol version (`'TLSv1.3'`), `null` before the handshake, `undefined` without TLS. */
  getProtocol(): string | null | undefined {
    const facts = this.#tls();
    return facts === undefined ? undefined : facts.getProtocol();
  }

  /** Whether the TLS session was resumed; `false` without TLS. */
  isSessionReused(): boolean {
    return this.#tls()?.isSessionReused() ?? false;
  }

  /** The TLS session to resume later (the node engine), as `tls.TLSSocket#getSession()`; `undefined` otherwise. */
  getSession(): Buffer | undefined {
    return this.#tls()?.getSession();
  }

  /**
   * Keying material exported from the TLS session (RFC 5705), as
   * `tls.TLSSocket#exportKeyingMaterial()`. Throws `ERR_WIRESTACK_TLS_UNSUPPORTED`
   * without TLS or with an engine that cannot (forge).
   */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    const facts = this.#tls();
    if (facts === undefined) {
      throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', 'exportKeyingMaterial(): the connection has no TLS layer', { layer: 'connection' });
    }
    return facts.exportKeyingMaterial(length, label, context);
  }

  /** The topmost secure (TLS) layer of the stack, if any. @internal */
  protected topSecureLayer(): SecureLayer | undefined {
    const records = this.pipeline.records;
    for (let i = records.length - 1; i >= 0; i--) {
      const stream = records[i]!.stream;
      if (isSecureLayer(stream)) return stream;
    }
    return undefined;
  }

  /** Stops the idle timer; the connection calls it when it is destroyed. @internal */
  protected releaseSocketSurface(): void {
    this.#stopIdleTimer();
    if (this.#onConnect) this.#socket.removeListener('connect', this.#onConnect);
  }
}

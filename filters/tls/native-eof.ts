/**
 * Telling a close_notify from a bare end of the transport on the node
 * engine's native path, where OpenSSL reads the socket's handle itself and
 * `tls.TLSSocket` gives the same `'end'` for both.
 *
 * The signal: Node's TLS handle reports both ends to JavaScript the same
 * way (its `onread` with no buffer), but from different places. A
 * close_notify is found while OpenSSL decrypts bytes that libuv has just
 * read, so the TCP handle is still reading at that moment; a bare end
 * arrives as libuv's own EOF, and libuv stops reading the handle before it
 * reports one. Asking the TCP handle to start reading then answers
 * `EALREADY` only in the first case. The one other way the handle can be
 * not reading is that JavaScript stopped it (backpressure); no EOF can come
 * from the socket while it is stopped, so an end seen then is a
 * close_notify too. The check errs only towards reporting a truncation, and
 * only where libuv behaves as on Unix, so it is used on Unix only.
 */
import type tls from 'node:tls';
import { getSystemErrorMap } from 'node:util';
import { nodeInternalsAllowed, probeTlsSocket } from './internals.js';

/** How the peer's side ended, once known. */
export type NativePeerClose = 'close_notify' | 'transport';

// What this reads and wraps on the handles (Node 20: net.js, src/stream_base.cc).
interface StreamHandle {
  readStart(): number;
  readStop(): number;
}
interface TlsHandle extends StreamHandle {
  onread: (this: unknown, ...args: unknown[]) => unknown;
  _parent?: unknown;
}

const UV_EALREADY = (() => {
  for (const [code, [name]] of getSystemErrorMap()) if (name === 'EALREADY') return code;
  return undefined;
})();

// Whether a TLS handle has what watchNativeEof wraps: asked once, of the probe.
let tlsHandleWatchable: boolean | undefined;

/**
 * The TCP (or pipe) handle below a socket: its own (`tls: false`, a plain
 * socket), or the one its TLS handle wraps (`tls: true`, a TLS socket that
 * opened its connection itself). `undefined` when private APIs are off or
 * not as expected; {@link watchNativeEof} watches what this returns.
 */
export function tcpHandleOf(socket: object, tls: boolean): unknown {
  if (!nativeEofPossible()) return undefined;
  const handle = (socket as { _handle?: { _parent?: unknown } | null })._handle;
  const tcp = (tls ? handle?._parent : handle) as Partial<StreamHandle> | null | undefined;
  return typeof tcp?.readStart === 'function' && typeof tcp.readStop === 'function' ? tcp : undefined;
}

/**
 * Whether this Node lets {@link watchNativeEof} work at all (before there is
 * a socket to ask: a client that opens its connection with TLS on it
 * decides with this, so that no connection is opened only to be dropped).
 */
export function nativeEofPossible(): boolean {
  if (!nodeInternalsAllowed || process.platform === 'win32' || UV_EALREADY === undefined) return false;
  tlsHandleWatchable ??= probeTlsSocket((socket) => {
    const tlsHandle = (socket as unknown as { _handle: Partial<TlsHandle> | null })._handle;
    return typeof tlsHandle?.onread === 'function' && typeof tlsHandle.readStart === 'function' &&
      typeof tlsHandle.readStop === 'function' && typeof tlsHandle._parent === 'object' && tlsHandle._parent !== null;
  }, false);
  return tlsHandleWatchable;
}

// Where a watched handle finds its watch: the wrappers below are shared by
// every connection (no closures per connection), and read their state here.
const watches = new WeakMap<object, NativeEofWatch>();

/** What one connection's watch knows; the handles it wraps find it in `watches`. */
class NativeEofWatch {
  // How the peer's side ended, once it has.
  verdict: NativePeerClose | undefined = undefined;
  // Set while JavaScript has stopped the TCP handle's reading (through either handle).
  stoppedByJs = false;

  constructor(
    readonly tcp: StreamHandle,
    // The methods each handle had before the watch wrapped them.
    readonly tcpStart: () => number,
    readonly tcpStop: () => number,
    readonly tlsStart: () => number,
    readonly tlsStop: () => number,
    readonly onread: (buffer: unknown) => unknown,
  ) {}

  /** How the peer's side ended, or `undefined` before it has. */
  peerClose(): NativePeerClose | undefined {
    return this.verdict;
  }
}

type Watched = StreamHandle;

function watchedReadStart(this: Watched): number {
  const watch = watches.get(this)!;
  watch.stoppedByJs = false;
  return (this === watch.tcp ? watch.tcpStart : watch.tlsStart).call(this);
}

function watchedReadStop(this: Watched): number {
  const watch = watches.get(this)!;
  watch.stoppedByJs = true;
  return (this === watch.tcp ? watch.tcpStop : watch.tlsStop).call(this);
}

// Node's onread takes the buffer read (or none, at an end or an error) as
// its one argument; it runs for every read, so no arguments array is made.
function watchedOnread(this: Watched, buffer: unknown): unknown {
  const watch = watches.get(this)!;
  // No buffer: an end or an error, decided before Node stops the reading.
  if (buffer === undefined && watch.verdict === undefined) {
    watch.verdict = watch.stoppedByJs || stillReading(watch.tcp, watch.tcpStart, watch.tcpStop) ? 'close_notify' : 'transport';
  }
  return watch.onread.call(this, buffer);
}

/**
 * Watches `socket` (a TLSSocket just made on the TCP handle `tcpHandle`) for the
 * end of the peer's side; the result says how it ended, or `undefined`
 * before it has. Returns `null` when the handles are not as expected, which
 * {@link tcpHandleOf} has ruled out before the session opened.
 */
export function watchNativeEof(socket: tls.TLSSocket, tcpHandle: unknown): { peerClose(): NativePeerClose | undefined } | null {
  const tcp = tcpHandle as StreamHandle | null | undefined;
  const handle = (socket as unknown as { _handle: TlsHandle | null })._handle;
  if (!tcp || !handle || handle._parent !== tcp || typeof handle.onread !== 'function') return null;
  const watch = new NativeEofWatch(tcp, tcp.readStart, tcp.readStop, handle.readStart, handle.readStop, handle.onread);
  for (const target of [handle, tcp] as Watched[]) {
    watches.set(target, watch);
    target.readStart = watchedReadStart;
    target.readStop = watchedReadStop;
  }
  handle.onread = watchedOnread as TlsHandle['onread'];
  return watch;
}

// Whether libuv is still reading the handle (asked with its own, unwrapped
// methods); undoes the start if it was not.
function stillReading(tcp: StreamHandle, readStart: () => number, readStop: () => number): boolean {
  const status = readStart.call(tcp);
  if (status === 0) readStop.call(tcp);
  return status === UV_EALREADY;
}

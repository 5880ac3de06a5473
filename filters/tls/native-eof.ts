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
import type net from 'node:net';
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
 * Whether {@link watchNativeEof} can work on `transport` here: decided
 * before the session opens (the transport's handle, and a probe TLSSocket
 * for the TLS handle's shape), so that a Node without these internals
 * takes the stream path instead. False with `WIRESTACK_NODE_INTERNALS=0`.
 */
export function nativeEofDetectable(transport: net.Socket): boolean {
  if (!nodeInternalsAllowed || process.platform === 'win32' || UV_EALREADY === undefined) return false;
  const handle = (transport as unknown as { _handle: Partial<StreamHandle> | null })._handle;
  if (typeof handle?.readStart !== 'function' || typeof handle.readStop !== 'function') return false;
  tlsHandleWatchable ??= probeTlsSocket((socket) => {
    const tlsHandle = (socket as unknown as { _handle: Partial<TlsHandle> | null })._handle;
    return typeof tlsHandle?.onread === 'function' && typeof tlsHandle.readStart === 'function' &&
      typeof tlsHandle.readStop === 'function' && typeof tlsHandle._parent === 'object' && tlsHandle._parent !== null;
  }, false);
  return tlsHandleWatchable;
}

/**
 * Watches `socket` (a TLSSocket just made on `transport`'s handle) for the
 * end of the peer's side; the result says how it ended, or `undefined`
 * before it has. Returns `null` when the handles are not as expected, which
 * {@link nativeEofDetectable} has ruled out before the session opened.
 */
export function watchNativeEof(socket: tls.TLSSocket, transport: net.Socket): (() => NativePeerClose | undefined) | null {
  const tcp = (transport as unknown as { _handle: StreamHandle | null })._handle;
  const handle = (socket as unknown as { _handle: TlsHandle | null })._handle;
  if (!tcp || !handle || handle._parent !== tcp || typeof handle.onread !== 'function') return null;
  let verdict: NativePeerClose | undefined;
  // Set while JavaScript has stopped the TCP handle's reading (through either handle).
  let stoppedByJs = false;
  const probe = { readStart: tcp.readStart, readStop: tcp.readStop };
  for (const target of [handle, tcp]) {
    const readStart = target.readStart;
    const readStop = target.readStop;
    target.readStart = function (this: StreamHandle): number {
      stoppedByJs = false;
      return readStart.call(this);
    };
    target.readStop = function (this: StreamHandle): number {
      stoppedByJs = true;
      return readStop.call(this);
    };
  }
  const onread = handle.onread;
  handle.onread = function (this: unknown, ...args: unknown[]): unknown {
    // No buffer: an end or an error, decided before Node stops the reading.
    if (args[0] === undefined && verdict === undefined) verdict = stoppedByJs || stillReading(tcp, probe) ? 'close_notify' : 'transport';
    return onread.apply(this, args);
  };
  return () => verdict;
}

// Whether libuv is still reading the handle (the unwrapped methods in
// `probe`); undoes the start if it was not.
function stillReading(tcp: StreamHandle, probe: StreamHandle): boolean {
  const status = probe.readStart.call(tcp);
  if (status === 0) probe.readStop.call(tcp);
  return status === UV_EALREADY;
}

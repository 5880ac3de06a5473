import { type Connection, wrap } from './connection.js';
import { WirestackError } from './errors.js';
import type { Filter } from './filter.js';
import { webSocketClass } from './websocket-class.js';
import { type WebSocketLike, WebSocketStream, type WebSocketStreamOptions } from './websocket-stream.js';

/** Options for {@link webSocket}. */
export interface WebSocketOptions extends WebSocketStreamOptions {
  /**
   * Subprotocols offered (default `['binary']`, websockify's name for raw
   * bytes, which `listen({ webSocket: true })` and `wirestack relay
   * --websocket` accept too). `[]` offers none.
   */
  protocols?: readonly string[];
  /** Milliseconds to wait for the WebSocket to open (default 30 000). */
  timeout?: number;
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** High-water mark of the connection's own buffers. */
  highWaterMark?: number;
}

/**
 * Opens a WebSocket to `url` (`ws:` or `wss:`) and applies `filters`
 * (lowest first) over it: the same stacks as over TCP, for where there is
 * no TCP (a browser), through a relay or a `listen({ webSocket: true })`
 * server. Bytes travel as binary messages. Rejects with
 * `ERR_WIRESTACK_CONNECT` if the WebSocket cannot be opened.
 *
 * A WebSocket has no half-close; `end()` sends an empty message that a
 * wirestack peer or relay reads as the end of what this side sends, and the
 * WebSocket closes once both sides have ended (see the README).
 *
 * @example
 * ```ts
 * const conn = await webSocket('ws://127.0.0.1:8080/', [tls.client({ engine: 'forge', minVersion: 'TLSv1', ca })]);
 * ```
 */
export async function webSocket(url: string | URL, filters?: Filter | readonly Filter[], options: WebSocketOptions = {}): Promise<Connection> {
  const where = String(url);
  const parsed = new URL(where);
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `webSocket: the URL must be ws: or wss:, got ${parsed.protocol}`);
  }
  const WebSocket = await webSocketClass();
  const socket = new WebSocket(where, [...(options.protocols ?? ['binary'])]);
  await opened(socket, where, options);
  const raw = new WebSocketStream(socket, options);
  return wrap(raw, filters, {
    role: 'client',
    remote: { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || (parsed.protocol === 'wss:' ? 443 : 80)) },
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
  });
}

// Resolves once the socket is open; rejects (the socket closed) if it fails, times out or is aborted.
function opened(socket: WebSocketLike, where: string, options: WebSocketOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      cleanup();
      if (socket.readyState < 2) socket.close();
      reject(new WirestackError('ERR_WIRESTACK_CONNECT', `cannot open a WebSocket to ${where}: ${why}`, { layer: 'websocket', cause }));
    };
    const onOpen = (): void => {
      cleanup();
      resolve();
    };
    const onError = (event: { error?: unknown; message?: unknown }): void =>
      fail(event.error instanceof Error ? event.error.message : typeof event.message === 'string' ? event.message : 'the WebSocket failed', event.error);
    const onClose = (event: { code: number }): void => fail(`closed with code ${event.code}`);
    const onAbort = (): void => fail('aborted', options.signal?.reason);
    const timeout = options.timeout ?? 30_000;
    const timer = setTimeout(() => fail(`timed out after ${timeout} ms`), timeout);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onError);
      socket.removeEventListener('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onError);
    socket.addEventListener('close', onClose);
  });
}

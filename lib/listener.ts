import http from 'node:http';
import net from 'node:net';
import { type Connection, wrap } from './connection.js';
import { WirestackError, toWirestackError } from './errors.js';
import type { Filter, RemoteInfo } from './filter.js';
import { type Duplex, EventEmitter } from './stream.js';
import { acceptWebSockets, type WebSocketListenOptions } from './websocket-server.js';

export type { WebSocketListenOptions } from './websocket-server.js';
import { type Target, describeTarget } from './target.js';

/** What {@link Listener.address} returns. */
export type ListenerAddress =
  | {
    /** The address bound (`127.0.0.1`, `::`). */
    host: string;
    /** The port bound: the one asked for, or the free one port `0` found. */
    port: number;
    /** `'IPv4'` or `'IPv6'`. */
    family: string;
  }
  | {
    /** The Unix domain socket's path. */
    path: string;
  };

/**
 * Where {@link listen} listens: a TCP port or a Unix socket path; with
 * `webSocket`, connections are WebSockets (HTTP upgrade on that address),
 * each a raw connection of binary messages under the stack.
 */
export type ListenTarget = Target & {
  /** Accept WebSockets on that address (`true`, or the options of the WebSocket server) instead of TCP connections. */
  webSocket?: boolean | WebSocketListenOptions;
};

/** Options for {@link Listener.close}. */
export interface CloseOptions {
  /**
   * `true` (the default): stop accepting and wait for open connections to
   * close by themselves. `false`: destroy them now.
   */
  drain?: boolean;
  /** With `drain`, destroy the connections still open after this many milliseconds. */
  timeout?: number;
}

/** Options for {@link listen}. */
export interface ListenOptions {
  /** Disables Nagle's algorithm on accepted sockets (default true). */
  noDelay?: boolean;
  /** Pending connections the OS queues (default 511). */
  backlog?: number;
  /** High-water mark of each connection's own buffers. */
  highWaterMark?: number;
}

/** Called with every accepted connection; may be async. */
export type ConnectionHandler = (conn: Connection) => void | Promise<void>;

/**
 * A listening socket that applies a stack to every accepted connection.
 *
 * Events: `'connectionError'` (error, connection) for a failure on an
 * accepted connection (including a handler that threw or rejected), so that
 * a server can log failures that no handler awaited.
 */
export class Listener extends EventEmitter {
  readonly #server: net.Server;
  // Open connections, for close({ drain: false }) and the drain wait.
  readonly #connections = new Set<Connection>();

  /** A failure on an accepted connection (its stack, or a handler that threw or rejected). */
  override on(event: 'connectionError', listener: (error: WirestackError, conn: Connection | undefined) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  /** Like {@link Listener.on}, once. */
  override once(event: 'connectionError', listener: (error: WirestackError, conn: Connection | undefined) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  /** @internal Use {@link listen}. */
  constructor(server: net.Server) {
    super();
    this.#server = server;
    const connections = this.#connections;
    const listener = this;
    this.#forget = function (this: Connection) { connections.delete(this); };
    this.#relayError = function (this: Connection, err: WirestackError) { listener.emit('connectionError', err, this); };
  }

  // The 'close' and 'error' listeners of every accepted connection, one of
  // each per listener (`this` is the connection): none made per connection.
  readonly #forget: (this: Connection) => void;
  readonly #relayError: (this: Connection, err: WirestackError) => void;

  /** The open connections. */
  get connections(): ReadonlySet<Connection> {
    return this.#connections;
  }

  /** Where the listener is bound: host, port and family, or the socket path. */
  address(): ListenerAddress {
    const address = this.#server.address();
    if (address === null) throw new WirestackError('ERR_WIRESTACK_CLOSED', 'the listener is closed');
    if (typeof address === 'string') return { path: address };
    return { host: address.address, port: address.port, family: address.family };
  }

  /** Stops accepting; see {@link CloseOptions} for what happens to open connections. */
  close(options: CloseOptions = {}): Promise<void> {
    const { drain = true, timeout } = options;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    if (!drain) this.#destroyAll();
    else if (timeout !== undefined) {
      timer = setTimeout(() => this.#destroyAll(), timeout);
      // Open connections keep the process alive by themselves; this timer
      // only cuts them short, so it must not keep it alive once they are gone
      // or were let go (a socket unref'd, as for an idle keep-alive).
      timer.unref();
    }
    return closed.finally(() => clearTimeout(timer));
  }

  /** @internal An accepted raw connection (a socket, or a WebSocket's stream). */
  accept(raw: Duplex, remote: RemoteInfo, filters: Filter | readonly Filter[] | undefined, handler: ConnectionHandler, options: ListenOptions): void {
    let conn: Connection;
    try {
      conn = wrap(raw, filters, {
        role: 'server',
        remote,
        ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
      });
    } catch (err) {
      this.emit('connectionError', toWirestackError(err, 'listener'), undefined);
      return;
    }
    this.#connections.add(conn);
    // 'close' comes once: on() spares the wrapper once() makes.
    conn.on('close', this.#forget);
    conn.on('error', this.#relayError);
    const failed = (err: unknown): void => {
      conn.destroy(toWirestackError(err, 'handler'));
    };
    try {
      const result = handler(conn);
      if (result && typeof result.then === 'function') result.then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  }

  #destroyAll(): void {
    for (const conn of this.#connections) conn.destroy();
  }
}

/**
 * Listens on a TCP port or a Unix socket path and applies `filters` (lowest
 * first) to every accepted connection, then calls `onConnection` with it.
 * Rejects with `ERR_WIRESTACK_LISTEN` if the address cannot be bound.
 * With `webSocket: true` in the target, it accepts WebSockets instead (the
 * `ws` package, an optional peer), each one's binary messages the raw
 * connection under the stack: what {@link webSocket} and browsers connect to.
 *
 * @example
 * ```ts
 * const listener = await listen({ host: '127.0.0.1', port: 0 }, tls.server({ cert, key }), async (conn) => {
 *   for await (const chunk of conn) conn.write(chunk);   // echo
 *   conn.end();
 * });
 * console.log(listener.address());
 * ```
 */
export async function listen(
  target: ListenTarget,
  filters: Filter | readonly Filter[] | undefined,
  onConnection: ConnectionHandler,
  options: ListenOptions = {},
): Promise<Listener> {
  const webSocket = target.webSocket;
  const server = webSocket ? http.createServer() : net.createServer({ allowHalfOpen: true });
  const listener = new Listener(server);
  if (webSocket) {
    await acceptWebSockets(server as http.Server, webSocket === true ? {} : webSocket, (raw, remote) => listener.accept(raw, remote, filters, onConnection, options));
  } else {
    server.on('connection', (socket: net.Socket) => {
      socket.setNoDelay(options.noDelay ?? true);
      listener.accept(socket, { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }, filters, onConnection, options);
    });
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new WirestackError('ERR_WIRESTACK_LISTEN', `cannot listen on ${describeTarget('path' in target ? target : { host: target.host ?? '*', port: target.port })}: ${err.message}`, { layer: 'raw', cause: err }));
    };
    server.once('error', onError);
    const ready = (): void => {
      server.off('error', onError);
      // Errors after listening (rare: EMFILE on accept) go to the listener's owner.
      server.on('error', (err) => listener.emit('connectionError', toWirestackError(err, 'listener'), undefined));
      resolve();
    };
    if ('path' in target) server.listen({ path: target.path, backlog: options.backlog ?? 511 }, ready);
    else server.listen({ host: target.host, port: target.port, backlog: options.backlog ?? 511 }, ready);
  });
  return listener;
}

import net from 'node:net';
import { type Connection, wrap } from './connection.js';
import { WirestackError } from './errors.js';
import type { Filter } from './filter.js';
import { type SecureConnectTarget, secureConnector } from './secure-layer.js';
import { Stack, toStack } from './stack.js';
import type { Duplex } from './stream.js';
import { describeTarget, type Target } from './target.js';

export type { Target } from './target.js';
export { describeTarget } from './target.js';

// The filter applied first (lowest), nested stacks looked into.
function lowestFilter(stack: Stack): Filter | undefined {
  const first = stack.filters[0];
  return first instanceof Stack ? lowestFilter(first) : first;
}

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Milliseconds to wait for the TCP connection (default 30 000). */
  timeout?: number;
  /** Disables Nagle's algorithm (default true: small messages go out at once). */
  noDelay?: boolean;
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** High-water mark of the connection's own buffers. */
  highWaterMark?: number;
}

/**
 * Opens a TCP or Unix socket connection and applies `filters` (lowest first).
 * Rejects with `ERR_WIRESTACK_CONNECT` if the connection cannot be made.
 *
 * @example
 * ```ts
 * const conn = await connect({ host: 'example.com', port: 443 }, tls.client());
 * await conn.send('GET / HTTP/1.0\r\nHost: example.com\r\n\r\n');
 * ```
 */
export async function connect(target: Target, filters?: Filter | readonly Filter[], options: ConnectOptions = {}): Promise<Connection> {
  const stack = toStack(filters);
  const socket = await openSocket(target, options, secureConnector(lowestFilter(stack)));
  const remote = 'path' in target ? { path: target.path } : { host: target.host ?? 'localhost', port: target.port };
  return wrap(socket, stack, {
    role: 'client',
    remote,
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
  });
}

/**
 * Opens the TCP or Unix socket of {@link connect} and resolves once it is
 * connected; rejects with `ERR_WIRESTACK_CONNECT` (the socket destroyed).
 */
export async function openSocket(target: Target, options: Omit<ConnectOptions, 'highWaterMark'> = {},
  secure?: (target: SecureConnectTarget) => Duplex | undefined): Promise<net.Socket> {
  const where = describeTarget(target);
  const noDelay = options.noDelay ?? true;
  // A TLS client lowest in the stack may open the connection with TLS on it, in one socket.
  const native = secure?.('path' in target ? { path: target.path } : { host: target.host ?? 'localhost', port: target.port, noDelay }) as net.Socket | undefined;
  const socket = native ?? ('path' in target
    ? net.connect({ path: target.path, allowHalfOpen: true })
    : net.connect({ host: target.host ?? 'localhost', port: target.port, allowHalfOpen: true, noDelay }));
  await new Promise<void>((resolve, reject) => {
    const fail = (cause: unknown, why: string): void => {
      cleanup();
      socket.destroy();
      reject(new WirestackError('ERR_WIRESTACK_CONNECT', `cannot connect to ${where}: ${why}`, { layer: 'raw', cause }));
    };
    const onError = (err: Error): void => fail(err, err.message);
    const onAbort = (): void => fail(options.signal?.reason, 'aborted');
    const timer = setTimeout(() => fail(undefined, `timed out after ${options.timeout ?? 30_000} ms`), options.timeout ?? 30_000);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('connect', onConnect);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
  return socket;
}

// The browser twin of connect.ts: a page has no TCP or Unix sockets.
import type { Connection } from './connection.js';
import type { ConnectOptions } from './connect.js';
import type { Filter } from './filter.js';
import { unsupportedRuntime } from './runtime.js';
import type { Duplex } from './stream.js';
import type { Target } from './target.js';

export type { ConnectOptions } from './connect.js';
export type { Target } from './target.js';
export { describeTarget } from './target.js';

const INSTEAD = 'use webSocket(url, filters) to reach a relay (wirestack relay --websocket) in front of the TCP service';

/** Rejects with `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: TCP needs node:net. */
export function connect(_target: Target, _filters?: Filter | readonly Filter[], _options?: ConnectOptions): Promise<Connection> {
  return Promise.reject(unsupportedRuntime('connect() over TCP', 'TCP sockets (node:net)', INSTEAD));
}

/** Rejects with `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: TCP needs node:net. */
export function openSocket(_target: Target, _options?: Omit<ConnectOptions, 'highWaterMark'>): Promise<Duplex> {
  return Promise.reject(unsupportedRuntime('connect() over TCP', 'TCP sockets (node:net)', INSTEAD));
}

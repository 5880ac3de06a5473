// The browser twin of listener.ts: a page cannot accept connections.
import type { Filter } from './filter.js';
import type { ConnectionHandler, ListenOptions, ListenTarget } from './listener.js';
import { unsupportedRuntime } from './runtime.js';
import { EventEmitter } from './stream.js';

export type { CloseOptions, ConnectionHandler, ListenerAddress, ListenOptions, ListenTarget, WebSocketListenOptions } from './listener.js';

function cannotListen(): Error {
  return unsupportedRuntime('listen()', 'a server socket (node:net)');
}

/** Cannot be made here: throws `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`. */
export class Listener extends EventEmitter {
  constructor() {
    super();
    throw cannotListen();
  }
}

/** Rejects with `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: listening needs node:net. */
export function listen(_target: ListenTarget, _filters: Filter | readonly Filter[] | undefined, _onConnection: ConnectionHandler,
  _options?: ListenOptions): Promise<Listener> {
  return Promise.reject(cannotListen());
}

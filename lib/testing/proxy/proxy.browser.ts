// The browser twin of proxy.ts: a page cannot listen for TCP connections
// nor open them, so the proxy is not in the browser build.
import { unsupportedRuntime } from '../../runtime.js';
import type { ProxyOptions } from './proxy.js';

export type { FaultDirection, Faults, ProxiedConnection, ProxyOptions } from './proxy.js';

/** Not in the browser build: made only by {@link proxy}, which fails there. */
export class Proxy {
  private constructor() {
    throw unsupportedRuntime('a proxy', 'TCP sockets (node:net)');
  }
}

/** Rejects with `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: the proxy needs TCP sockets (node:net). */
export function proxy(_options: ProxyOptions): Promise<Proxy> {
  return Promise.reject(unsupportedRuntime('proxy()', 'TCP sockets (node:net)'));
}

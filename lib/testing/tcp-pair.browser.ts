// The browser twin of tcp-pair.ts: a page has no TCP.
import { unsupportedRuntime } from '../runtime.js';
import type { Duplex } from '../stream.js';

/** Fails: checkFilter's `transport: 'tcp'` needs node:net. */
export function tcpPair(): Promise<[Duplex, Duplex]> {
  return Promise.reject(unsupportedRuntime("checkFilter's transport: 'tcp'", 'TCP sockets (node:net)', "use transport: 'memory'"));
}

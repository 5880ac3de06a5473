// The browser twin of node-engine.ts: no OpenSSL in a page; forge is the engine there.
import { unsupportedRuntime } from '../../lib/runtime.js';
import type { TlsEngine } from './engine.js';

function noOpenSsl(): Error {
  return unsupportedRuntime('the node TLS engine', "OpenSSL (node:tls)", "pass engine: 'forge' (TLS 1.0/1.1; see the README's limits)");
}

/** The `node` engine's place in the browser build: refuses every use with `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`. */
export const nodeEngine: TlsEngine = {
  name: 'node',
  check() {
    throw noOpenSsl();
  },
  open() {
    throw noOpenSsl();
  },
};

// The browser twin of dispatcher.ts: undici needs node:net.
import type { ConnectorStack } from './connector.js';
import type { DispatcherOptions } from './dispatcher.js';
import { unsupportedRuntime } from './runtime.js';

export type { DispatcherOptions } from './dispatcher.js';

/** Throws `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: undici needs node:net. */
export function dispatcher(_stack: ConnectorStack, _options?: DispatcherOptions): never {
  throw unsupportedRuntime('dispatcher()', 'undici and node:net');
}

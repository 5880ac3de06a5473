// The browser twin of agent.ts: there is no node:http in a page (fetch() makes its own connections).
import type { AgentOptions } from './agent.js';
import type { ConnectorStack } from './connector.js';
import { unsupportedRuntime } from './runtime.js';

export type { AgentOptions } from './agent.js';

/** Throws `ERR_WIRESTACK_UNSUPPORTED_RUNTIME`: an http.Agent needs node:http. */
export function agent(_stack: ConnectorStack, _options?: AgentOptions): never {
  throw unsupportedRuntime('agent()', 'node:http and node:net');
}

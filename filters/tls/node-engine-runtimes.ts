/**
 * Where the node engine runs: Node.js only. Bun and Deno have a node:tls
 * whose sessions work on their own sockets, but not under wirestack's TLS
 * layer, which drives a TLSSocket over a stream of its own (tested in
 * test/runtimes: Bun's echo came back with different bytes and its
 * half-close hung; Deno's fragmented round trip hung, and a session handed
 * its socket stalled). So the engine refuses there at once, rather than
 * lose bytes or hang; forge works in both.
 */
import { WirestackError } from '../../lib/errors.js';
import { runtimeKind, runtimeName } from '../../lib/runtime.js';

/** Throws `ERR_WIRESTACK_UNSUPPORTED_RUNTIME` on a runtime where the node engine fails wirestack's checks. */
export function refuseFailingRuntime(): void {
  const kind = runtimeKind();
  if (kind !== 'bun' && kind !== 'deno') return;
  const how = kind === 'bun' ? 'bytes changed and a half-close hung' : 'a fragmented round trip hung';
  throw new WirestackError('ERR_WIRESTACK_UNSUPPORTED_RUNTIME',
    `tls: the node engine fails wirestack's conformance checks on ${runtimeName()} (${how}); use engine: 'forge' (TLS 1.0/1.1), or Node.js`,
    { layer: 'tls' });
}

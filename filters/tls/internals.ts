/**
 * Whether the node engine may use Node's private APIs, and the one probe
 * that finds out which of them this Node has.
 *
 * The rule (DESIGN.md, "Node internals"): a private API is used only for
 * speed, and whether it is usable is decided before a session opens, so a
 * changed Node makes the engine take a public path, never a half-working
 * private one. No verdict that protects the user comes from a private API.
 * `WIRESTACK_NODE_INTERNALS=0` in the environment (read once, when this
 * module loads) turns every private API off: the engine then runs on
 * public Node API only, with the same guarantees and less speed.
 */
import tls from 'node:tls';
import { Duplex } from '../../lib/stream.js';

/** False when `WIRESTACK_NODE_INTERNALS=0`: no private Node API is touched. */
export const nodeInternalsAllowed: boolean = process.env.WIRESTACK_NODE_INTERNALS !== '0';

let probeContext: tls.SecureContext | undefined;

/**
 * Runs `inspect` on a throwaway server TLSSocket over a plain Duplex (what
 * Node makes for any stream that is not a connected socket) and returns
 * its answer, or `fallback` when internals are off or anything throws.
 * Each caller asks once and keeps the answer: the shape of Node's objects
 * does not change while the process runs.
 */
export function probeTlsSocket<T>(inspect: (socket: tls.TLSSocket) => T, fallback: T): T {
  if (!nodeInternalsAllowed) return fallback;
  let socket: tls.TLSSocket | undefined;
  try {
    probeContext ??= tls.createSecureContext();
    socket = new tls.TLSSocket(new Duplex({ read() {}, write(_chunk, _encoding, callback) { callback(); } }),
      { isServer: true, secureContext: probeContext });
    return inspect(socket);
  } catch {
    return fallback;
  } finally {
    socket?.destroy();
  }
}

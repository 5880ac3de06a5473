/**
 * `agent(stack)`: a Node `http.Agent` (or `https.Agent`) whose sockets are
 * wirestack connections, for `http.request`, `https.request`, `ws` and
 * anything else that takes an agent.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type Connection, wrap } from './connection.js';
import { type ConnectorStack, type ConnectorTarget, filtersFor, requireTlsFor, stackHasTlsClient, tlsHostOf } from './connector.js';
import { WirestackError, toWirestackError } from './errors.js';

/** Options for {@link agent}: Node's agent options, and two of wirestack's. */
export interface AgentOptions extends https.AgentOptions {
  /**
   * `'https:'` makes an `https.Agent` (for `https://` requests), `'http:'`
   * an `http.Agent`. Default: `'https:'` when the stack has a `tls.client()`
   * filter, else `'http:'`; a stack given as a function says `'https:'`
   * itself. An `https:` request whose stack makes no TLS layer fails.
   */
  protocol?: 'http:' | 'https:';
  /** High-water mark of each connection's own buffers (default 64 KiB). */
  highWaterMark?: number;
}

// The request options Node's agent passes to createConnection (with the agent's own merged in).
type CreateOptions = http.ClientRequestArgs & https.RequestOptions & {
  keepAlive?: boolean; keepAliveInitialDelay?: number; noDelay?: boolean; autoSelectFamily?: boolean;
};
type Created = (err: Error | null, stream: Duplex) => void;

// Options of net.connect() that a request may carry.
const SOCKET_KEYS = ['host', 'port', 'path', 'localAddress', 'localPort', 'family', 'lookup', 'hints', 'autoSelectFamily'] as const;

/**
 * An `http.Agent` whose sockets are connections over `stack`: an
 * `https.Agent` when the stack has a TLS client (see
 * {@link AgentOptions.protocol}). Keep-alive pooling is on, as on Node's
 * global agent (`keepAlive: true`, `scheduling: 'lifo'`, `timeout: 5000`),
 * and `maxSockets`, `timeout` and `agent.destroy()` work as on Node's
 * agents. A TLS client in a list sends the request's server name (its
 * `servername` option, else its host name) and checks the certificate
 * against it; its own options decide the rest. To take `ca` or
 * `rejectUnauthorized` from the request, give a function of the target.
 *
 * @example
 * ```ts
 * const pooled = agent([tls.client({ ca })]);
 * https.get('https://localhost:8443/', { agent: pooled }, (res) => res.pipe(process.stdout));
 * // or: agent((target) => [log(), tls.client({ ca: target.ca, rejectUnauthorized: target.rejectUnauthorized })], { protocol: 'https:' })
 * ```
 */
export function agent(stack: ConnectorStack, options: AgentOptions = {}): http.Agent {
  const { protocol = stackHasTlsClient(stack) ? 'https:' : 'http:', highWaterMark, ...nodeOptions } = options;
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `agent(): protocol must be 'http:' or 'https:', got ${String(protocol)}`);
  }
  const agentOptions: https.AgentOptions = { keepAlive: true, scheduling: 'lifo', timeout: 5000, ...nodeOptions };
  const open = (request: CreateOptions, created: Created): Connection | undefined =>
    openFor(stack, protocol, highWaterMark, request, created);
  if (protocol === 'https:') {
    return new (class extends https.Agent {
      override createConnection(request: CreateOptions, created: Created): Duplex | undefined {
        return open(request, created);
      }
    })(agentOptions);
  }
  return new (class extends http.Agent {
    override createConnection(request: CreateOptions, created: Created): Duplex | undefined {
      return open(request, created);
    }
  })(agentOptions);
}

// Made at once (Node's agent counts a socket only once it has it, so
// maxSockets holds only if it is handed over synchronously), around a
// socket still connecting; a failure to connect arrives as the
// connection's ERR_WIRESTACK_CONNECT, which the request emits.
function openFor(stack: ConnectorStack, protocol: string, highWaterMark: number | undefined,
  request: CreateOptions, created: Created): Connection | undefined {
  const target = targetOf(request, protocol);
  let conn: Connection;
  try {
    // The filters first: a stack function that throws leaves no socket behind.
    const filters = filtersFor(stack, target);
    const socketOptions: Record<string, unknown> = { allowHalfOpen: true, noDelay: request.noDelay ?? true };
    for (const key of SOCKET_KEYS) if (request[key] !== undefined && request[key] !== null) socketOptions[key] = request[key];
    if (request.socketPath) socketOptions.path = request.socketPath;
    const socket = net.connect(socketOptions as unknown as net.NetConnectOpts);
    conn = wrap(socket, filters, {
      role: 'client',
      remote: target.path ? { path: target.path } : { host: tlsHostOf(target), port: target.port },
      ...(highWaterMark === undefined ? {} : { highWaterMark }),
    });
  } catch (err) {
    created(toWirestackError(err, 'agent'), undefined as unknown as Duplex);
    return undefined;
  }
  const refused = requireTlsFor(target, conn, 'agent()');
  if (refused) {
    created(refused, undefined as unknown as Duplex);
    return undefined;
  }
  // What net.createConnection does with the same options.
  if (request.keepAlive) conn.setKeepAlive(true, request.keepAliveInitialDelay);
  if (request.timeout) conn.setTimeout(request.timeout);
  return conn;
}

function targetOf(request: CreateOptions, protocol: string): ConnectorTarget {
  return {
    protocol,
    host: request.host ?? request.hostname ?? 'localhost',
    port: Number(request.port ?? request.defaultPort ?? (protocol === 'https:' ? 443 : 80)),
    path: request.socketPath,
    servername: request.servername,
    rejectUnauthorized: request.rejectUnauthorized,
    ca: request.ca,
    cert: request.cert,
    key: request.key,
  };
}

/**
 * `dispatcher(stack)`: an undici `Dispatcher` whose connections are
 * wirestack connections, for undici's API and `fetch(url, { dispatcher })`.
 * undici is an optional peer dependency, loaded when this is first called.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
// Types only: the published declarations mark this import (rollup.config.mjs),
// so that a project without undici still compiles.
import type { Dispatcher } from 'undici';
import { openSocket } from './connect.js';
import { type Connection, wrap } from './connection.js';
import { type ConnectorStack, type ConnectorTarget, filtersFor, requireTlsFor, tlsHostOf } from './connector.js';
import { WirestackError, toWirestackError } from './errors.js';

/** Options for {@link dispatcher}: undici's `Agent` options (but `connect`), and two of wirestack's. */
export interface DispatcherOptions {
  /** Milliseconds to wait for the TCP connection (default 10 000, undici's own). */
  connectTimeout?: number;
  /** High-water mark of each connection's own buffers (default 64 KiB). */
  highWaterMark?: number;
  /** Any other option of undici's `Agent` (`keepAliveTimeout`, `connections`, `pipelining`, …), passed on. */
  [option: string]: unknown;
}

// What undici's Agent takes and calls, as far as this module uses it.
interface UndiciModule {
  Agent: new (options: Record<string, unknown>) => Dispatcher;
}
interface ConnectParams {
  hostname: string;
  protocol: string;
  port: string;
  servername?: string | null;
}
type Connected = (err: Error | null, socket: Connection | null) => void;

let undici: UndiciModule | undefined;

/**
 * An undici `Dispatcher` (an `Agent`: a pool per origin) whose connections
 * are made over `stack`. HTTP/2 is used where the stack's TLS client offers
 * it in ALPN (`tls.client({ alpn: ['h2', 'http/1.1'] })`) and the server
 * agrees; otherwise HTTP/1.1. A TLS client in a list sends the origin's host
 * name as SNI and checks the certificate against it. An `https:` origin
 * whose stack makes no TLS layer fails rather than send in clear.
 *
 * Needs the `undici` package (7.x, which runs on Node 20): without it this
 * throws `ERR_WIRESTACK_PEER_MISSING`. Its dispatcher works with undici's
 * own `fetch` and `request`, and with Node's global `fetch` (Node's copy of
 * undici takes another copy's dispatcher; its types do not, hence the cast
 * in the example).
 *
 * @example
 * ```ts
 * import { fetch } from 'undici';
 * const via = dispatcher([tls.client({ ca, alpn: ['h2', 'http/1.1'] })]);
 * const res = await fetch('https://localhost:8443/', { dispatcher: via });
 * await via.close();
 * ```
 */
export function dispatcher(stack: ConnectorStack, options: DispatcherOptions = {}): Dispatcher {
  const { connectTimeout = 10_000, highWaterMark, connect: _ignored, ...agentOptions } = options;
  const { Agent } = loadUndici();
  const connect = (params: ConnectParams, connected: Connected): void => {
    const target: ConnectorTarget = {
      protocol: params.protocol,
      host: params.hostname,
      port: Number(params.port) || (params.protocol === 'https:' ? 443 : 80),
      // As undici's own connector: the host name, or none for an IP address.
      servername: params.servername || (isIP(params.hostname) === 0 ? params.hostname : ''),
    };
    openConnection(stack, target, connectTimeout, highWaterMark).then((conn) => connected(null, conn), (err: unknown) => connected(toWirestackError(err, 'dispatcher'), null));
  };
  return new Agent({ ...agentOptions, connect });
}

// Connects, applies the stack and, with TLS, waits for the handshake, so
// that undici reads the ALPN protocol (HTTP/2 or HTTP/1.1) off a finished one.
async function openConnection(stack: ConnectorStack, target: ConnectorTarget, timeout: number, highWaterMark: number | undefined): Promise<Connection> {
  const filters = filtersFor(stack, target);
  const socket = await openSocket({ host: target.host, port: target.port }, { timeout });
  const conn = wrap(socket, filters, {
    role: 'client',
    remote: { host: tlsHostOf(target), port: target.port },
    ...(highWaterMark === undefined ? {} : { highWaterMark }),
  });
  const refused = requireTlsFor(target, conn, 'dispatcher()');
  if (refused) throw refused;
  if (conn.encrypted) {
    try {
      await conn.secured;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }
  return conn;
}

function loadUndici(): UndiciModule {
  if (undici) return undici;
  try {
    undici = createRequire(import.meta.url)('undici') as UndiciModule;
  } catch (err) {
    throw new WirestackError('ERR_WIRESTACK_PEER_MISSING',
      'dispatcher() needs the undici package: npm install undici@7', { layer: 'dispatcher', cause: err });
  }
  return undici;
}

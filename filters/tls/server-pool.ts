/**
 * Server-side TLS sockets made by `tls.Server`: the one public way to get a
 * server TLSSocket that reports its errors as `'error'` and the client
 * certificate's verdict in `authorized` / `authorizationError`. A socket
 * made with `new tls.TLSSocket(…, { isServer: true })` gets neither: Node
 * sets the verdict in tls.Server's own `'secure'` handler (from a private
 * API), and keeps a bare server socket's errors for the private
 * `'_tlsError'` event.
 *
 * The servers never listen: a transport is handed to one with
 * `server.emit('connection', transport)`. Its events name the TLSSocket,
 * which is first seen when the handshake ends, so a server serves one
 * handshake at a time and goes back to the pool when that handshake ends,
 * either way (`'secureConnection'` or `'tlsClientError'`, one of which
 * always comes, a destroyed transport included). Each server parses the
 * key and certificates once, so the pool keeps a few idle ones.
 */
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import type { Duplex } from '../../lib/stream.js';

// Idle servers kept for later handshakes; more come and go with the load.
const MAX_IDLE = 8;

/** What the pool tells about one handshake. */
export interface HandshakeOutcome {
  /** The handshake is done; `socket` is the session's, and its verdict is in `authorized`. */
  secure(socket: tls.TLSSocket): void;
  /** It failed (`socket` as Node names it; its `authorizationError` says when the verdict was the cause). */
  failed(error: Error, socket: tls.TLSSocket | undefined): void;
  /** A key log line of this handshake, when the options asked for them. */
  keylog?(line: Buffer): void;
}

/** Servers with one set of options, lent for one handshake at a time. */
export class ServerPool {
  readonly #options: tls.TlsOptions;
  readonly #idle: tls.Server[] = [];
  // Sockets whose handshake is over: their later key log lines are not the next handshake's.
  readonly #settled = new WeakSet<tls.TLSSocket>();

  /** Makes the first server at once, so that options OpenSSL refuses fail here. */
  constructor(options: tls.TlsOptions) {
    // One set of ticket keys for every server of the pool, so that they resume each other's sessions.
    this.#options = { ...options, ticketKeys: options.ticketKeys ?? randomBytes(48) };
    this.#idle.push(tls.createServer(this.#options));
  }

  /** Starts the server side of a handshake over `transport`. */
  accept(transport: Duplex, outcome: HandshakeOutcome): void {
    const server = this.#idle.pop() ?? tls.createServer(this.#options);
    const settle = (socket: tls.TLSSocket | undefined): void => {
      if (socket) this.#settled.add(socket);
      server.off('secureConnection', onSecure);
      server.off('tlsClientError', onFailed);
      server.off('keylog', onKeylog);
      if (this.#idle.length < MAX_IDLE) this.#idle.push(server);
    };
    const onSecure = (socket: tls.TLSSocket): void => {
      settle(socket);
      outcome.secure(socket);
    };
    const onFailed = (error: Error, socket: tls.TLSSocket | undefined): void => {
      settle(socket);
      outcome.failed(error, socket);
    };
    const onKeylog = (line: Buffer, socket: tls.TLSSocket): void => {
      if (!this.#settled.has(socket)) outcome.keylog?.(line);
    };
    server.on('secureConnection', onSecure);
    server.on('tlsClientError', onFailed);
    // Only when asked: Node turns key logging on for sockets of a server with a 'keylog' listener.
    if (outcome.keylog) server.on('keylog', onKeylog);
    server.emit('connection', transport);
  }
}

/**
 * The interface between the TLS filter and a TLS implementation (an
 * "engine"). The filter knows nothing of OpenSSL or node-forge: it moves
 * bytes, runs the handshake timer, enforces the verification policy, tells a
 * close_notify from a truncation and reports errors. An engine only speaks
 * the protocol: ciphertext in, plaintext out, and the other way round.
 *
 * The contract is byte-oriented and push-based, like OpenSSL's memory BIOs
 * or SwiftNIO's `NIOSSLHandler`:
 *
 * ```
 *            plaintext                             plaintext
 *   session.send(chunks, done) ──►  ENGINE  ──► host.deliver(chunk)
 *   host.transmit(chunks, done) ◄──  ENGINE  ◄── session.receive(chunk)
 *            ciphertext                            ciphertext
 * ```
 *
 * Rules every engine keeps:
 * 1. The role is fixed when the session is opened; a client session starts
 *    the handshake (sends its ClientHello) from `open()` on, at once or soon.
 * 2. `receive()` takes ciphertext in any fragmentation, from one byte to many
 *    records at once; partial records are kept until they are complete.
 * 3. `host.transmit()` may be called from within `open()` (a client's first
 *    flight); every other host call happens after `open()` has returned
 *    (defer with `queueMicrotask`/`setImmediate` if need be). No host call
 *    happens after `destroy()` or after `host.fail()`.
 * 4. `host.transmit()` is called with at most ONE batch outstanding: the
 *    engine waits for its `done` before transmitting again (queue in
 *    between). That is the transport's backpressure.
 * 5. The engine verifies the peer's certificate chain against `ca` but does
 *    NOT reject an untrusted chain itself (except a missing client
 *    certificate, see {@link EngineConfig.requestCert}, and a client chain
 *    the TLS implementation refuses on its own where the filter would too,
 *    reported through `fail()` with the verdict's code): it reports the
 *    verdict in {@link HandshakeFacts.chainError} and the filter decides,
 *    after also checking the host name. So both engines share one policy.
 *    A verdict that cannot be read is a failure, never a pass.
 * 6. Errors are reported once, through `host.fail()`, as a `WirestackError`
 *    whose code is one of the `ERR_WIRESTACK_TLS_*` codes (see
 *    `filters/tls/errors.ts` for the mapping helpers), at once: records the
 *    engine still holds (an alert telling the peer why) go with it, and the
 *    filter sends them before ending the transport, waiting a bounded time
 *    (the one wait a failure costs). After `fail()` the session is dead;
 *    the filter destroys it.
 */
import type { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { WirestackError } from '../../lib/errors.js';
import type { Duplex } from '../../lib/stream.js';

/** A TLS protocol version, as OpenSSL and Node name them. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** PEM text or DER/PEM bytes; a list where several are allowed (CA bundles). */
export type Pem = string | Buffer;

/** A certificate and its private key (or a PKCS#12 bundle), as an engine needs them. */
export interface TlsIdentity {
  /** Certificate chain, leaf first, PEM. */
  cert?: Pem | readonly Pem[];
  /** Private key, PEM. */
  key?: Pem | readonly Pem[];
  /** PKCS#12 bundle holding both (instead of cert/key). */
  pfx?: Buffer;
  /** Passphrase for an encrypted key or pfx. */
  passphrase?: string;
}

/**
 * Chooses the server's identity from the name the client asked for (SNI);
 * `undefined` keeps the default identity. May be async.
 */
export type SniCallback = (servername: string) => TlsIdentity | undefined | Promise<TlsIdentity | undefined>;

/**
 * Everything a session needs, already validated and defaulted by the filter
 * (`filters/tls/options.ts`). An engine that cannot honour a field must say
 * so in {@link TlsEngine.check}, never ignore it silently. The same object
 * is passed for every connection of one filter, so an engine may cache what
 * it derives from it (keyed on the object, e.g. in a WeakMap).
 */
export interface EngineConfig extends TlsIdentity {
  /** The side of the handshake the session takes. */
  readonly role: 'client' | 'server';
  /** Trusted CAs for the peer's chain. Absent: the engine's default roots (Mozilla's for node). */
  readonly ca: Pem | readonly Pem[] | undefined;
  /** ALPN protocols, most preferred first. Absent: no ALPN. */
  readonly alpn: readonly string[] | undefined;
  /** The lowest protocol version accepted. */
  readonly minVersion: TlsVersion;
  /** The highest protocol version offered. Absent: the engine's highest. */
  readonly maxVersion: TlsVersion | undefined;
  /** OpenSSL cipher list. Absent: the engine's default (the node engine's is `profile.ts`). */
  readonly ciphers: string | undefined;
  /** Client: a session from an earlier 'session' event, to resume. */
  readonly session: Buffer | undefined;
  /**
   * Server: ask the client for a certificate. With `rejectUnauthorized` the
   * handshake itself fails when the client sends none; a certificate that is
   * sent is verified and reported in {@link HandshakeFacts.chainError}.
   */
  readonly requestCert: boolean;
  /** Whether the filter will reject an unverified peer (see `requestCert`). */
  readonly rejectUnauthorized: boolean;
  /** Server: per-name identity (SNI). */
  readonly sni: SniCallback | undefined;
  /** Server: 48 bytes of session ticket keys, shared by servers that should resume each other's sessions. */
  readonly ticketKeys: Buffer | undefined;
  /** Whether the host wants {@link EngineHost.keylog} lines (costs nothing when false). */
  readonly keylog: boolean;
  /** OpenSSL `SSL_OP_*` flags (`crypto.constants`), node engine only. Absent: the engine's default (`profile.ts`). */
  readonly secureOptions: number | undefined;
}

/** What differs per connection of one filter. */
export interface SessionParams {
  /** Client: the SNI name to send; never an IP address. Absent: send none. */
  readonly servername: string | undefined;
}

/** What the engine knows once the handshake is complete. */
export interface HandshakeFacts {
  /** Negotiated protocol, e.g. `'TLSv1.3'`. */
  readonly protocol: string;
  /** Negotiated cipher suite, IANA/RFC name (`'TLS_AES_256_GCM_SHA384'`). */
  readonly cipher: string;
  /** Negotiated ALPN protocol, or `null` when none was agreed. */
  readonly alpn: string | null;
  /** The peer's leaf certificate, DER; `null` when it sent none. */
  readonly peerCertificate: Buffer | null;
  /** The same certificate parsed, when the engine has it so (saves the filter a parse); may be left out. */
  readonly peerX509?: X509Certificate | null;
  /**
   * Optional: whether the certificate is valid for `host`, by the engine's
   * own check with the same rules (RFC 6125 as OpenSSL applies them), for an
   * engine that can say so without parsing the certificate again. Without
   * it the filter parses `peerCertificate` and checks it itself.
   */
  matchesHost?(host: string): boolean;
  /**
   * Why the peer's chain is not trusted, or `null` when it is (or when there
   * is no certificate and none was required). Code `ERR_WIRESTACK_TLS_UNKNOWN_CA`,
   * `_CERT_EXPIRED`, `_CERT_NOT_YET_VALID` or `_CERT_INVALID`. The filter
   * checks the host name itself.
   */
  readonly chainError: WirestackError | null;
  /** Whether an earlier session was resumed. */
  readonly resumed: boolean;
}

/** The filter's side of the contract: what an engine calls. */
export interface EngineHost {
  /**
   * Sends TLS records to the peer. Call `done` (once) when the transport has
   * room for more; do not call `transmit` again before (rule 4). `done` gets
   * an error if the transport is gone.
   */
  transmit(chunks: Buffer[], done: (err?: Error | null) => void): void;
  /** Hands decrypted application data up. Zero-length chunks are allowed and ignored. */
  deliver(chunk: Buffer): void;
  /** The handshake is complete (once per session). */
  secure(facts: HandshakeFacts): void;
  /**
   * The peer's readable side has ended, and how: `'close_notify'` when its
   * close_notify alert arrived, `'transport'` when the transport ended
   * (after {@link EngineSession.transportEnded}) with no close_notify
   * before it. Called once; the filter decides whether it is a truncation.
   */
  peerEnded(how: 'close_notify' | 'transport'): void;
  /**
   * A fatal failure (rule 6). `lastRecords`: records not yet transmitted
   * (an alert), to be sent before the transport is ended; they may follow a
   * transmit that is still outstanding.
   */
  fail(error: WirestackError, lastRecords?: readonly Buffer[]): void;
  /** Client: a session the application may pass as `session` later to resume. May come more than once (TLS 1.3 tickets). */
  session(session: Buffer): void;
  /** One NSS key log line (with its newline), when {@link EngineConfig.keylog} is set. */
  keylog(line: Buffer): void;
}

/** One TLS session over one transport, made by {@link TlsEngine.open}. */
export interface EngineSession {
  /** Ciphertext that arrived from the peer, in any fragmentation (rule 2). */
  receive(chunk: Buffer): void;
  /**
   * Encrypts and sends plaintext (a writev batch: ideally one record for
   * all of it). May be called before the handshake is done; the engine holds
   * the data until then. `done` when the engine has taken it and may take
   * more (after the resulting records were transmitted, or queued within a
   * bound).
   */
  send(chunks: Buffer[], done: (err?: Error | null) => void): void;
  /**
   * Sends close_notify after everything sent so far; `done` once it has been
   * transmitted (its `transmit` completed). The session may still receive
   * (TLS 1.3 half-close; in TLS 1.2 the peer usually answers and ends).
   */
  close(done: (err?: Error | null) => void): void;
  /**
   * The transport has ended: no more `receive()` calls. The engine finishes
   * what it has and then calls {@link EngineHost.peerEnded} (with
   * `'close_notify'` if it saw one among the bytes received before, and had
   * not yet said so; otherwise `'transport'`).
   */
  transportEnded(): void;
  /**
   * Optional (conn.pop()): after the peer's close_notify, resolves with the
   * bytes received after that alert, which belong to the stream below. An
   * engine that cannot find the exact end of the TLS stream leaves this
   * undefined and pop() rejects with `ERR_WIRESTACK_TLS_UNSUPPORTED`.
   */
  unwrap?(): Promise<Buffer[]>;
  /** Stops at once and frees everything; no host calls afterwards. Idempotent. */
  destroy(): void;
  /**
   * Optional: Node's own TLS socket of the session, when the engine is built
   * on one (the node engine). The connection's TLSSocket-like members
   * (`getPeerCertificate()`, `getSession()`, `exportKeyingMaterial()`, …)
   * then ask it; without it they answer from the handshake's facts.
   */
  readonly tlsSocket?: tls.TLSSocket | null;
}

/** A TLS implementation. One engine value serves many sessions. */
export interface TlsEngine {
  /** The name used in the filter's `engine` option: `'node'`, `'forge'`. */
  readonly name: string;
  /**
   * Throws a `WirestackError` (`ERR_WIRESTACK_TLS_UNSUPPORTED` or
   * `ERR_WIRESTACK_INVALID_ARGUMENT`) if the engine cannot honour `config`.
   * Called once when the filter is made, so mistakes show early; may also
   * prepare what all sessions share (parsed keys, contexts).
   */
  check(config: EngineConfig): void;
  /** Starts one session for one connection. */
  open(config: EngineConfig, params: SessionParams, host: EngineHost): EngineSession;
  /**
   * Optional fast path; engines without a native one leave it out. Given
   * the stream below, returns `undefined` unless the engine can drive that
   * stream natively (the node engine: a connected `net.Socket`, whose handle
   * OpenSSL then reads and writes without JavaScript in between). The
   * returned `plaintext` stream is then the layer's stream below: it carries
   * plaintext, ending it sends close_notify and FIN, and it ends when the
   * peer's side ends; {@link NativeTls.peerClose} then says how. With
   * `needPeerClose`, returns `undefined` unless it can tell a close_notify
   * from a bare end of the transport. The host's `transmit`, `deliver` and
   * `peerEnded` are not used; `secure`, `fail`, `session` and `keylog` are,
   * and `session.destroy()` ends it all.
   */
  openOnSocket?(transport: Duplex, config: EngineConfig, params: SessionParams, host: EngineHost, needPeerClose: boolean): NativeTls | undefined;
  /**
   * Optional: a client's connection and its TLS in one native socket, for a
   * client layer lowest in a stack that `connect()` opens (the node engine:
   * `tls.connect({ host, port })`, with no separate `net.Socket`). The
   * returned `plaintext` is still connecting: it emits `'connect'` (or
   * `'error'`) as a `net.Socket` does, and becomes the connection's raw
   * stream. Returns `undefined` when the engine cannot (then `connect()`
   * opens a plain socket and the layer goes on it as usual); with
   * `needPeerClose` as for {@link TlsEngine.openOnSocket}. Host calls come
   * only once the connection is made.
   */
  connectNative?(target: NativeTarget, config: EngineConfig, params: SessionParams, host: EngineHost, needPeerClose: boolean): NativeTls | undefined;
}

/** Where {@link TlsEngine.connectNative} connects: a TCP host and port, or a Unix socket path. */
export type NativeTarget = {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Whether to disable Nagle's algorithm on the socket. */
  readonly noDelay: boolean;
} | {
  /** Unix domain socket path. */
  readonly path: string;
};

/** What {@link TlsEngine.openOnSocket} returns. */
export interface NativeTls {
  /** Plaintext above the natively driven socket. */
  readonly plaintext: Duplex;
  /** For `destroy()` only; the other methods are not used on this path. */
  readonly session: EngineSession;
  /**
   * How the peer's side ended, asked once `plaintext` has ended:
   * `'unknown'` when the engine cannot tell (only when `needPeerClose` was false).
   */
  peerClose(): 'close_notify' | 'transport' | 'unknown';
}

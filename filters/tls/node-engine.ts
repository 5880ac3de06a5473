/**
 * The `node` engine: Node's built-in TLS (OpenSSL, TLS 1.2 and 1.3) behind
 * the byte-oriented engine interface. Each session is a `tls.TLSSocket`
 * over a small in-memory "port" for the ciphertext: a {@link CipherSocket}
 * (OpenSSL's records go straight between it and the filter), or, where
 * Node's internals do not allow one, a Duplex whose readable side is the
 * ciphertext the filter received and whose writable side is the ciphertext
 * OpenSSL wants sent (TLSSocket takes it through Node's JSStreamSocket).
 *
 * Clients are made with `tls.connect({ socket })`. A server that judges
 * client certificates, and every server when private APIs are off, is made
 * by a `tls.Server` (server-pool.ts): only such a socket reports its errors
 * and its verdict through public API. Other servers are a bare
 * `new TLSSocket`, which the native path needs (the socket at once), and
 * whose errors come through the private `'_tlsError'` event.
 *
 * The peer certificate's verdict is always Node's public one, `authorized`
 * and `authorizationError`; anything but an explicit pass is a failure.
 */
import { X509Certificate, constants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { WirestackError } from '../../lib/errors.js';
import { Duplex } from '../../lib/stream.js';
import { writeBatch } from '../../lib/write-batch.js';
import type { EngineConfig, EngineHost, EngineSession, HandshakeFacts, NativeTarget, NativeTls, Pem, SessionParams, TlsEngine, TlsIdentity } from './engine.js';
import { createCipherSocket, type CipherSocket } from './cipher-socket.js';
import { authorizationFailure, toTlsError, verifyError } from './errors.js';
import { probeTlsSocket } from './internals.js';
import { type NativePeerClose, nativeEofPossible, tcpHandleOf, watchNativeEof } from './native-eof.js';
import { certificateMatchesHost } from './info.js';
import { defaults } from './profile.js';
import { ServerPool, type HandshakeOutcome } from './server-pool.js';
import { refuseFailingRuntime } from './node-engine-runtimes.js';

type Callback = (err?: Error | null) => void;

/**
 * Makes a session's TLSSocket over its transport: at once (clients, bare
 * servers), or `null` when a pooled server hands it over at the end of the
 * handshake, through the session's handshake outcome.
 */
type SocketMaker = (transport: Duplex | null, session: NodeSession) => tls.TLSSocket | null;

// Node's own handshake timer on pooled server sockets, set out of reach:
// the filter times the handshake (its handshakeTimeout, 0 for none).
const NO_HANDSHAKE_TIMEOUT = 2 ** 31 - 1;

// Whether a bare server TLSSocket's errors can be heard ('_tlsError'): asked once, of the probe.
let tlsErrorEventHeard: boolean | undefined;

function bareServerUsable(): boolean {
  tlsErrorEventHeard ??= probeTlsSocket((socket) => {
    let heard = false;
    socket.once('_tlsError', () => { heard = true; });
    (socket as unknown as { _tlsError(err: Error): unknown })._tlsError(new Error('probe'));
    return heard;
  }, false);
  return tlsErrorEventHeard;
}

// A server made at once (not pooled) must be able to report its errors, and must not judge certificates.
function serverIsPooled(config: EngineConfig): boolean {
  return config.requestCert || !bareServerUsable();
}

class NodeEngine implements TlsEngine {
  readonly name = 'node';
  // One secure context per filter config: parsed keys and CAs are shared by
  // its connections, and a server's ticket keys live there (resumption).
  readonly #contexts = new WeakMap<EngineConfig, tls.SecureContext>();
  // The tls.Server pool of a filter config whose servers are pooled.
  readonly #pools = new WeakMap<EngineConfig, ServerPool>();
  // Contexts for identities an SNI callback returned, made once each.
  readonly #sniContexts = new WeakMap<TlsIdentity, tls.SecureContext>();

  check(config: EngineConfig): void {
    refuseFailingRuntime();
    if (config.role === 'server' && serverIsPooled(config)) this.#poolFor(config);
    else this.#contextFor(config);
  }

  open(config: EngineConfig, params: SessionParams, host: EngineHost): EngineSession {
    return new NodeSession(this.#socketMaker(config, params), config, host, null);
  }

  // The native fast path: OpenSSL gets the socket's handle itself, on a
  // socket connected or still connecting (an http.Agent hands its sockets
  // over at once; Node's TLS starts the handshake once connected). How the
  // peer closed is read off the handles (native-eof.ts), where that works.
  openOnSocket(transport: Duplex, config: EngineConfig, params: SessionParams, host: EngineHost, needPeerClose: boolean): NativeTls | undefined {
    if (!(transport instanceof net.Socket) || transport.destroyed || !(transport.connecting || transport.readyState === 'open')) return undefined;
    if (config.role === 'server' && serverIsPooled(config)) return undefined;
    // Decided before the session opens: a watch that cannot work means the stream path, not a blind native one.
    const tcp = tcpHandleOf(transport, false);
    if (needPeerClose && tcp === undefined) return undefined;
    const session = new NodeSession(this.#socketMaker(config, params), config, host, transport);
    const plaintext = session.plaintext;
    if (plaintext === null) return undefined;
    const watch = tcp === undefined ? null : watchNativeEof(plaintext, tcp);
    // The socket ended below the TLS layer (transport.end()) and now its
    // peer has ended too: both directions are over, so close, as the socket
    // would have by itself had OpenSSL not been reading it. ('end' comes
    // once: on() spares the wrapper once() would make for every connection.)
    plaintext.on('end', () => {
      if (transport.writableFinished) plaintext.destroy();
    });
    return new NativeSession(plaintext, session, watch, needPeerClose);
  }

  // A client's connection and TLS in one socket, when the layer is lowest in
  // a stack that connect() opens: no net.Socket of its own below OpenSSL.
  connectNative(target: NativeTarget, config: EngineConfig, params: SessionParams, host: EngineHost, needPeerClose: boolean): NativeTls | undefined {
    if (config.role !== 'client') return undefined;
    // Decided before a connection is opened: without the close_notify watch, a plain socket and the usual path.
    if (needPeerClose && !nativeEofPossible()) return undefined;
    const open = this.#socketMaker(config, params, target);
    const session = new NodeSession(open, config, host, 'direct');
    const plaintext = session.plaintext;
    if (plaintext === null) return undefined;
    // The handle itself, once made: were it not as the probe said, the safe answer is the usual path.
    const tcp = tcpHandleOf(plaintext, true);
    if (needPeerClose && tcp === undefined) {
      session.destroy();
      return undefined;
    }
    if ('noDelay' in target && target.noDelay) plaintext.setNoDelay(true);
    return new NativeSession(plaintext, session, tcp === undefined ? null : watchNativeEof(plaintext, tcp), needPeerClose);
  }

  #socketMaker(config: EngineConfig, params: SessionParams, target?: NativeTarget): SocketMaker {
    if (config.role === 'client') {
      const context = this.#contextFor(config);
      return (transport, session) => tls.connect({
        ...(transport ? { socket: transport } : target && 'path' in target ? { path: target.path } : { host: target!.host, port: target!.port }),
        // Half-close is real (Node passes this on to the socket, though its types leave it out).
        ...({ allowHalfOpen: true } as tls.ConnectionOptions),
        secureContext: context,
        ...(params.servername === undefined ? {} : { servername: params.servername }),
        ...(config.alpn === undefined ? {} : { ALPNProtocols: [...config.alpn] }),
        ...(config.session === undefined ? {} : { session: config.session }),
        // The filter applies the verification policy itself (engine rule 5).
        rejectUnauthorized: false,
        // Node builds the server's certificate to check its name: kept, not built again.
        checkServerIdentity: certificateNoter(session),
      });
    }
    if (serverIsPooled(config)) {
      const pool = this.#poolFor(config);
      return (transport, session) => {
        pool.accept(transport!, session.handshakeOutcome());
        return null;
      };
    }
    const context = this.#contextFor(config);
    // Servers always have a transport: only clients connect (connectNative).
    return (transport) => new tls.TLSSocket(transport!, {
      isServer: true,
      secureContext: context,
      ...(config.alpn === undefined ? {} : { ALPNProtocols: [...config.alpn] }),
      ...(config.sni === undefined ? {} : { SNICallback: this.#sniCallback(config) }),
    });
  }

  #contextFor(config: EngineConfig): tls.SecureContext {
    let context = this.#contexts.get(config);
    if (!context) {
      context = refusedAsInvalid(() => tls.createSecureContext(contextOptions(config, config)));
      this.#contexts.set(config, context);
    }
    return context;
  }

  #poolFor(config: EngineConfig): ServerPool {
    let pool = this.#pools.get(config);
    if (!pool) {
      const options = contextOptions(config, config);
      pool = refusedAsInvalid(() => new ServerPool({
        ...options,
        // tls.Server adds the server's cipher order unless told; the profile (or the user's flags) decides.
        honorCipherOrder: (options.secureOptions! & constants.SSL_OP_CIPHER_SERVER_PREFERENCE) !== 0,
        requestCert: config.requestCert,
        // Only makes OpenSSL refuse a missing client certificate, and Node a chain it does not trust,
        // which the filter's policy would refuse too; the verdict still reaches the filter (see NodeSession).
        rejectUnauthorized: config.requestCert && config.rejectUnauthorized,
        ...(config.alpn === undefined ? {} : { ALPNProtocols: [...config.alpn] }),
        ...(config.sni === undefined ? {} : { SNICallback: this.#sniCallback(config) }),
        handshakeTimeout: NO_HANDSHAKE_TIMEOUT,
      }));
      this.#pools.set(config, pool);
    }
    return pool;
  }

  #sniCallback(config: EngineConfig) {
    const choose = config.sni!;
    return (servername: string, callback: (err: Error | null, context?: tls.SecureContext) => void): void => {
      Promise.resolve()
        .then(() => choose(servername))
        .then((identity) => callback(null, identity === undefined ? undefined : this.#sniContextFor(config, identity)))
        .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    };
  }

  #sniContextFor(config: EngineConfig, identity: TlsIdentity): tls.SecureContext {
    let context = this.#sniContexts.get(identity);
    if (!context) {
      context = refusedAsInvalid(() => tls.createSecureContext(contextOptions(config, identity)));
      this.#sniContexts.set(identity, context);
    }
    return context;
  }
}

/** The engine built on Node's `tls` module (OpenSSL). */
export const nodeEngine: TlsEngine = new NodeEngine();

function contextOptions(config: EngineConfig, identity: TlsIdentity): tls.SecureContextOptions {
  return {
    ...pemOption('ca', config.ca),
    ...pemOption('cert', identity.cert),
    ...pemOption('key', identity.key),
    ...(identity.pfx === undefined ? {} : { pfx: identity.pfx }),
    ...(identity.passphrase === undefined ? {} : { passphrase: identity.passphrase }),
    minVersion: config.minVersion,
    ...(config.maxVersion === undefined ? {} : { maxVersion: config.maxVersion }),
    // The secure profile (profile.ts) unless the filter's options replace it.
    ciphers: config.ciphers ?? defaults.ciphers,
    secureOptions: config.secureOptions ?? defaults.secureOptions,
    ...(config.ticketKeys === undefined ? {} : { ticketKeys: config.ticketKeys }),
  };
}

function refusedAsInvalid<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT',
      `tls: the certificates, keys or protocol options were refused: ${(err as Error).message}`, { layer: 'tls', cause: err });
  }
}

function pemOption(name: 'ca' | 'cert' | 'key', value: Pem | readonly Pem[] | undefined): Record<string, Pem | Pem[]> {
  if (value === undefined) return {};
  return { [name]: Array.isArray(value) ? [...(value as Pem[])] : (value as Pem) };
}

class NodeSession implements EngineSession {
  readonly #host: EngineHost;
  readonly #config: EngineConfig;
  // Ciphertext side, one of two or neither (the native path): receive()
  // feeds the cipher socket, or pushes into the port's readable side; what
  // OpenSSL writes to either goes to host.transmit().
  readonly #cipher: CipherSocket | null = null;
  readonly #port: Duplex | null = null;
  // Whether this is the native path: OpenSSL reads the socket itself (no receive/deliver).
  readonly #native: boolean;
  // The TLSSocket; null until a pooled server hands it over at the end of the handshake.
  #socket: tls.TLSSocket | null = null;
  // Set by destroy() or a failure: no more host calls.
  #dead = false;
  // True until the handshake is done.
  #handshaking = true;
  // Set when the transport's EOF is handed to OpenSSL.
  #transportEofGiven = false;
  // Whether OpenSSL had already seen close_notify when the transport's EOF was handed over.
  #closeNotifyBeforeEof = false;
  // Set when the TLSSocket's plaintext stream ended (its push(null)).
  #plaintextEnded = false;
  // close()'s callback, called when OpenSSL has written its last record (close_notify).
  #closeDone: Callback | null = null;
  // Client: the server's certificate Node built during the handshake; dropped once read.
  #serverCertificate: tls.PeerCertificate | undefined;
  // Plaintext, and a close, given before a pooled server handed the socket over.
  #held: { chunks: Buffer[]; done: Callback } | null = null;
  #heldClose: Callback | null = null;

  /**
   * `native`: the socket OpenSSL is to drive itself, or `'direct'` when
   * `makeSocket` opens the connection itself (`tls.connect({ host, port })`);
   * `null` for the stream path, fed by receive().
   */
  constructor(makeSocket: SocketMaker, config: EngineConfig, host: EngineHost, native: net.Socket | 'direct' | null) {
    this.#host = host;
    this.#config = config;
    this.#native = native !== null;
    if (native === null) {
      this.#cipher = createCipherSocket({
        transmit: (chunks, done) => this.#transmit(chunks, done),
        shutdown: () => this.#closed(),
      });
    }
    if (native === null && this.#cipher === null) {
      this.#port = new Duplex({
        allowHalfOpen: true,
        read: () => {},
        write: (chunk: Buffer, _encoding, callback: Callback) => this.#transmit([chunk], callback),
        writev: (entries: Array<{ chunk: Buffer }>, callback: Callback) => this.#transmit(entries.map((e) => e.chunk), callback),
        final: (callback: Callback) => {
          callback();
          this.#closed();
        },
      });
      // Registered before JSStreamSocket's own 'end' listener, so it runs just
      // before OpenSSL is told of the EOF (see #noteTransportEof).
      this.#port.on('end', () => this.#noteTransportEof());
    }
    let socket: tls.TLSSocket | null;
    try {
      socket = makeSocket(native === 'direct' ? null : native ?? this.#cipher ?? this.#port!, this);
    } catch (err) {
      // On a socket (or opening one), the caller takes the stream path instead (plaintext is null).
      if (native) return;
      // Not a throw out of open(): a coded failure, once open() has returned (engine rule 3).
      queueMicrotask(() => this.#fail(new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED',
        `tls: Node's TLS could not start a session: ${(err as Error).message}`, { layer: 'tls', cause: err })));
      return;
    }
    if (socket) this.#adopt(socket, false);
  }

  /** For a pooled server: what its tls.Server reports of this session's handshake. */
  handshakeOutcome(): HandshakeOutcome {
    return {
      secure: (socket) => this.#adopt(socket, true),
      // Node refuses a client chain it does not trust itself (pooled servers with rejectUnauthorized): say why.
      failed: (err, socket) => this.#fail(socket?.authorizationError ? authorizationFailure(socket.authorizationError) : toTlsError(err, true)),
      ...(this.#config.keylog ? { keylog: (line: Buffer) => { if (!this.#dead) this.#host.keylog(line); } } : {}),
    };
  }

  /** Client: the server's certificate, as Node built it for its own name check (which the filter does instead). */
  noteServerCertificate(certificate: tls.PeerCertificate): undefined {
    this.#serverCertificate = certificate;
    return undefined;
  }

  /** The native path's plaintext stream: the TLSSocket itself (null if it could not be made). */
  get plaintext(): tls.TLSSocket | null {
    return this.#socket;
  }

  /** The session's TLSSocket (null until a pooled server hands it over). */
  get tlsSocket(): tls.TLSSocket | null {
    return this.#socket;
  }

  receive(chunk: Buffer): void {
    if (this.#dead) return;
    if (this.#cipher) this.#cipher.feed(chunk);
    else this.#port?.push(chunk);
  }

  send(chunks: Buffer[], done: Callback): void {
    if (this.#dead) return;
    const socket = this.#socket;
    if (socket === null) {
      // The layer sends one batch at a time, waiting for `done`: one is held at most.
      this.#held = { chunks, done };
      return;
    }
    if (writeBatch(socket, chunks)) done();
    else socket.once('drain', () => done());
  }

  close(done: Callback): void {
    if (this.#dead) return;
    if (this.#socket === null) {
      this.#heldClose = done;
      return;
    }
    this.#closeDone = done;
    this.#socket.end();
  }

  transportEnded(): void {
    if (this.#dead) return;
    if (this.#cipher) {
      this.#noteTransportEof();
      this.#cipher.feedEnd();
    } else {
      this.#port?.push(null);
    }
  }

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#teardown();
  }

  // Just before OpenSSL is told of the transport's EOF, every byte before
  // it has been given to OpenSSL synchronously, so whether the plaintext
  // stream has already ended tells whether a close_notify was among them.
  // Before a pooled server handed the socket over, the handshake is not
  // done, and now cannot be: the peer has ended.
  #noteTransportEof(): void {
    this.#closeNotifyBeforeEof = this.#plaintextEnded;
    this.#transportEofGiven = true;
    if (this.#socket === null && !this.#dead) this.#host.peerEnded('transport');
  }

  // OpenSSL has written its last record (close_notify): close() is done.
  #closed(): void {
    const done = this.#closeDone;
    this.#closeDone = null;
    done?.();
  }

  #transmit(chunks: Buffer[], callback: Callback): void {
    if (this.#dead) callback();
    else this.#host.transmit(chunks, callback);
  }

  // The session's TLSSocket, made at once or handed over by a pooled server
  // once its handshake is done (then 'secure' has been and gone).
  #adopt(socket: tls.TLSSocket, handshakeDone: boolean): void {
    this.#socket = socket;
    if (this.#dead) {
      socket.destroy();
      return;
    }
    this.#listen(socket, handshakeDone);
    if (!handshakeDone) return;
    this.#onSecure();
    const held = this.#held;
    const heldClose = this.#heldClose;
    this.#held = null;
    this.#heldClose = null;
    if (held) this.send(held.chunks, held.done);
    if (heldClose) this.close(heldClose);
  }

  // On the native path the layer reads the TLSSocket itself: no deliver/peerEnded.
  #listen(socket: tls.TLSSocket, handshakeDone: boolean): void {
    const onError = (err: Error): void => this.#fail(toTlsError(err, this.#handshaking));
    socket.on('error', onError);
    if (!handshakeDone) {
      // A bare server TLSSocket reports its failures only this way (bareServerUsable() heard it).
      if (this.#config.role === 'server') socket.on('_tlsError', onError);
      socket.once(this.#config.role === 'client' ? 'secureConnect' : 'secure', () => this.#onSecure());
    }
    if (!this.#native) {
      // OpenSSL's plaintext ends (Node calls push(null)) at a close_notify,
      // or at the transport's EOF once that is handed over. Were Node ever
      // to end it another way, the end would read as a truncation: safe.
      const push = socket.push;
      socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        if (chunk === null) this.#plaintextEnded = true;
        return push.call(socket, chunk, encoding);
      };
      socket.on('data', (chunk: Buffer) => {
        if (!this.#dead) this.#host.deliver(chunk);
      });
      socket.on('end', () => {
        if (this.#dead) return;
        this.#host.peerEnded(this.#transportEofGiven && !this.#closeNotifyBeforeEof ? 'transport' : 'close_notify');
      });
    }
    // Only a client's TLSSocket emits 'session' (a session to resume later).
    if (this.#config.role === 'client') {
      socket.on('session', (session: Buffer) => {
        if (!this.#dead) this.#host.session(session);
      });
    }
    if (this.#config.keylog) {
      socket.on('keylog', (line: Buffer) => {
        if (!this.#dead) this.#host.keylog(line);
      });
    }
  }

  #onSecure(): void {
    if (this.#dead) return;
    this.#handshaking = false;
    const socket = this.#socket!;
    // On a client, Node 20 and 22's getPeerX509Certificate() takes the leaf
    // out of OpenSSL's peer chain, after which getPeerCertificate() answers {}
    // (fixed in Node 24): a client reads its leaf from the certificate Node
    // built for its name check (not made for a resumed session: then asked for).
    // A resumed session may carry only the leaf (no chain), which the X509 getter does not give.
    const served = this.#serverCertificate;
    this.#serverCertificate = undefined;
    const peer: tls.PeerCertificate | X509Certificate | undefined = this.#config.role === 'client'
      ? legacyLeaf(served ?? socket.getPeerCertificate())
      : socket.getPeerX509Certificate() ?? legacyLeaf(socket.getPeerCertificate());
    const cipher = socket.getCipher();
    this.#host.secure(new NodeFacts(
      socket.getProtocol() ?? 'unknown',
      cipher.standardName ?? cipher.name,
      typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
      peer ?? null,
      this.#chainError(socket, peer !== undefined),
      socket.isSessionReused(),
    ));
  }

  #chainError(socket: tls.TLSSocket, hasPeerCertificate: boolean): WirestackError | null {
    // A server that did not ask for a certificate has nothing to judge.
    if (this.#config.role === 'server' && !(this.#config.requestCert && hasPeerCertificate)) return null;
    // A resumed session keeps the verdict of its first handshake (OpenSSL
    // stores it in the session), though Node cannot show the certificate.
    if (!hasPeerCertificate && !socket.isSessionReused()) {
      return this.#config.role === 'client'
        ? verifyError('NO_PEER_CERTIFICATE', 'the server sent no certificate')
        : null;
    }
    // Node's public verdict: set by tls.connect on clients, by tls.Server on
    // (pooled) servers that ask for certificates. Fails closed.
    return socket.authorized === true ? null : authorizationFailure(socket.authorizationError);
  }

  #fail(error: WirestackError): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#host.fail(error);
    this.#teardown();
  }

  // Before a pooled server has handed its socket over, the port going is
  // what makes that socket go (and its server return to the pool).
  #teardown(): void {
    this.#socket?.destroy();
    this.#cipher?.destroy();
    this.#port?.destroy();
  }
}

// What the native path hands the layer.
class NativeSession implements NativeTls {
  constructor(
    readonly plaintext: tls.TLSSocket,
    readonly session: NodeSession,
    readonly watch: { peerClose(): NativePeerClose | undefined } | null,
    readonly needPeerClose: boolean,
  ) {}

  // tcpHandleOf() vouched for the watch; were it missing, a bare end is the safe answer.
  peerClose(): 'close_notify' | 'transport' | 'unknown' {
    if (this.watch) return this.watch.peerClose() ?? 'transport';
    return this.needPeerClose ? 'transport' : 'unknown';
  }
}

// The client's checkServerIdentity: Node keeps it (in the socket's connect
// options) for as long as the socket lives, so it is made here, where its
// closure holds the session alone, not the socket maker's whole scope.
function certificateNoter(session: NodeSession): (host: string, certificate: tls.PeerCertificate) => undefined {
  return (_host, certificate) => session.noteServerCertificate(certificate);
}

// The peer's certificate as getPeerCertificate() gives it, if it gave one.
function legacyLeaf(certificate: tls.PeerCertificate | Record<string, never>): tls.PeerCertificate | undefined {
  const raw = (certificate as Partial<tls.PeerCertificate>).raw;
  return raw && raw.length > 0 ? certificate as tls.PeerCertificate : undefined;
}

// The handshake's facts as Node gives them, with nothing parsed twice: a
// server's view of a client certificate is OpenSSL's own parsed object; a
// client's view of the server's is the object Node built during the
// handshake, whose name Node's own public check judges.
class NodeFacts implements HandshakeFacts {
  readonly #peer: tls.PeerCertificate | X509Certificate | null;

  constructor(
    readonly protocol: string,
    readonly cipher: string,
    readonly alpn: string | null,
    peer: tls.PeerCertificate | X509Certificate | null,
    readonly chainError: WirestackError | null,
    readonly resumed: boolean,
  ) {
    this.#peer = peer;
  }

  get peerX509(): X509Certificate | undefined {
    return this.#peer instanceof X509Certificate ? this.#peer : undefined;
  }

  get peerCertificate(): Buffer | null {
    return this.#peer?.raw ?? null;
  }

  matchesHost(host: string): boolean {
    const peer = this.#peer;
    if (peer === null) return false;
    if (peer instanceof X509Certificate) return certificateMatchesHost(peer, host);
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    return tls.checkServerIdentity(bare, peer) === undefined;
  }
}

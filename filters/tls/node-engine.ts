/**
 * The `node` engine: Node's built-in TLS (OpenSSL, TLS 1.2 and 1.3) behind
 * the byte-oriented engine interface. Each session is a `tls.TLSSocket`
 * over a small in-memory "port" for the ciphertext: a {@link CipherSocket}
 * (OpenSSL's records go straight between it and the filter), or, where
 * Node's internals do not allow one, a Duplex whose readable side is the
 * ciphertext the filter received and whose writable side is the ciphertext
 * OpenSSL wants sent (TLSSocket takes it through Node's JSStreamSocket).
 */
import net from 'node:net';
import tls from 'node:tls';
import { WirestackError } from '../../lib/errors.js';
import { Duplex } from '../../lib/stream.js';
import type { EngineConfig, EngineHost, EngineSession, HandshakeFacts, NativeTls, Pem, SessionParams, TlsEngine, TlsIdentity } from './engine.js';
import { cipherSocketAvailable, createCipherSocket, type CipherSocket } from './cipher-socket.js';
import { toTlsError, verifyError } from './errors.js';
import { nativeEofDetectable, watchNativeEof } from './native-eof.js';
import { refuseFailingRuntime } from './node-engine-runtimes.js';

type Callback = (err?: Error | null) => void;

// What TLSSocket keeps internally and that this engine reads: the native
// handle's verifyError() (the chain verdict Node itself uses, for either
// role) and the readable state's `ended` flag (set synchronously when
// OpenSSL sees close_notify; `readableEnded` only after 'end' is emitted).
interface TlsSocketInternals {
  _handle: { verifyError(): (Error & { code?: string }) | null } | null;
  _readableState: { ended: boolean };
}

class NodeEngine implements TlsEngine {
  readonly name = 'node';
  // One secure context per filter config: parsed keys and CAs are shared by
  // its connections, and a server's ticket keys live there (resumption).
  readonly #contexts = new WeakMap<EngineConfig, tls.SecureContext>();
  // Contexts for identities an SNI callback returned, made once each.
  readonly #sniContexts = new WeakMap<TlsIdentity, tls.SecureContext>();

  check(config: EngineConfig): void {
    refuseFailingRuntime();
    this.#contextFor(config);
  }

  open(config: EngineConfig, params: SessionParams, host: EngineHost): EngineSession {
    const sniContext = (identity: TlsIdentity): tls.SecureContext => this.#sniContextFor(config, identity);
    return new NodeSession(this.#contextFor(config), config, params, host, sniContext, null);
  }

  // The native fast path: OpenSSL gets the connected socket's handle itself.
  // How the peer closed is read off the handles (native-eof.ts), where that works.
  openOnSocket(transport: Duplex, config: EngineConfig, params: SessionParams, host: EngineHost, needPeerClose: boolean): NativeTls | undefined {
    if (!(transport instanceof net.Socket) || !(transport as unknown as { _handle: unknown })._handle || transport.connecting) {
      return undefined;
    }
    if (needPeerClose && !nativeEofDetectable(transport)) return undefined;
    const sniContext = (identity: TlsIdentity): tls.SecureContext => this.#sniContextFor(config, identity);
    const session = new NodeSession(this.#contextFor(config), config, params, host, sniContext, transport);
    const peerClose = watchNativeEof(session.plaintext as tls.TLSSocket, transport);
    // The socket ended below the TLS layer (transport.end()) and now its
    // peer has ended too: both directions are over, so close, as the socket
    // would have by itself had OpenSSL not been reading it.
    session.plaintext.once('end', () => {
      if (transport.writableFinished) session.plaintext.destroy();
    });
    return {
      plaintext: session.plaintext,
      session,
      // Without the watch (handles not as expected), a bare end is the safe answer.
      peerClose: () => (peerClose ? peerClose() ?? 'transport' : needPeerClose ? 'transport' : 'unknown'),
    };
  }

  #contextFor(config: EngineConfig): tls.SecureContext {
    let context = this.#contexts.get(config);
    if (!context) {
      context = makeContext(config, config);
      this.#contexts.set(config, context);
    }
    return context;
  }

  #sniContextFor(config: EngineConfig, identity: TlsIdentity): tls.SecureContext {
    let context = this.#sniContexts.get(identity);
    if (!context) {
      context = makeContext(config, identity);
      this.#sniContexts.set(identity, context);
    }
    return context;
  }
}

/** The engine built on Node's `tls` module (OpenSSL). */
export const nodeEngine: TlsEngine = new NodeEngine();

function makeContext(config: EngineConfig, identity: TlsIdentity): tls.SecureContext {
  try {
    return tls.createSecureContext({
      ...pemOption('ca', config.ca),
      ...pemOption('cert', identity.cert),
      ...pemOption('key', identity.key),
      ...(identity.pfx === undefined ? {} : { pfx: identity.pfx }),
      ...(identity.passphrase === undefined ? {} : { passphrase: identity.passphrase }),
      minVersion: config.minVersion,
      ...(config.maxVersion === undefined ? {} : { maxVersion: config.maxVersion }),
      ...(config.ciphers === undefined ? {} : { ciphers: config.ciphers }),
      ...(config.ticketKeys === undefined ? {} : { ticketKeys: config.ticketKeys }),
      ...(config.secureOptions === undefined ? {} : { secureOptions: config.secureOptions }),
    });
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
  readonly #socket: tls.TLSSocket;
  // Set by destroy() or a failure: no more host calls.
  #dead = false;
  // True until the 'secure' / 'secureConnect' event.
  #handshaking = true;
  // Set when the transport's EOF is handed to OpenSSL.
  #transportEofGiven = false;
  // Whether OpenSSL had already seen close_notify when the transport's EOF was handed over.
  #closeNotifyBeforeEof = false;
  // close()'s callback, called when OpenSSL has written its last record (close_notify).
  #closeDone: Callback | null = null;

  constructor(context: tls.SecureContext, config: EngineConfig, params: SessionParams, host: EngineHost,
    sniContext: (identity: TlsIdentity) => tls.SecureContext, native: net.Socket | null) {
    this.#host = host;
    this.#config = config;
    if (native === null && cipherSocketAvailable(context)) {
      this.#cipher = createCipherSocket({
        transmit: (chunks, done) => this.#transmit(chunks, done),
        shutdown: () => this.#closed(),
      });
    } else if (native === null) {
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
      // Registered before TLSSocket's own 'end' listener, so it runs just
      // before OpenSSL is told of the EOF (see #noteTransportEof).
      this.#port.on('end', () => this.#noteTransportEof());
    }
    const transport = native ?? this.#cipher ?? this.#port!;
    this.#socket = config.role === 'client'
      ? tls.connect({
        socket: transport,
        secureContext: context,
        ...(params.servername === undefined ? {} : { servername: params.servername }),
        ...(config.alpn === undefined ? {} : { ALPNProtocols: [...config.alpn] }),
        ...(config.session === undefined ? {} : { session: config.session }),
        // The filter applies the verification policy itself (engine rule 5).
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      })
      : new tls.TLSSocket(transport, {
        isServer: true,
        secureContext: context,
        requestCert: config.requestCert,
        // Only makes OpenSSL refuse a missing client certificate; the chain itself is judged by the filter.
        rejectUnauthorized: config.requestCert && config.rejectUnauthorized,
        ...(config.alpn === undefined ? {} : { ALPNProtocols: [...config.alpn] }),
        ...(config.sni === undefined ? {} : { SNICallback: this.#sniCallback(config, sniContext) }),
      });
    this.#listen(config, native === null);
  }

  /** The native path's plaintext stream: the TLSSocket itself. */
  get plaintext(): Duplex {
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
    let room = true;
    if (chunks.length === 1) {
      room = socket.write(chunks[0]);
    } else {
      socket.cork();
      for (const chunk of chunks) room = socket.write(chunk);
      socket.uncork();
    }
    if (room) done();
    else socket.once('drain', () => done());
  }

  close(done: Callback): void {
    if (this.#dead) return;
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
    this.#socket.destroy();
    this.#cipher?.destroy();
    this.#port?.destroy();
  }

  // Just before OpenSSL is told of the transport's EOF, every byte before
  // it has been given to OpenSSL synchronously, so the TLSSocket's readable
  // state tells whether a close_notify was among them.
  #noteTransportEof(): void {
    this.#closeNotifyBeforeEof = (this.#socket as unknown as TlsSocketInternals)._readableState.ended;
    this.#transportEofGiven = true;
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

  // On the native path the layer reads the TLSSocket itself: no deliver/peerEnded.
  #listen(config: EngineConfig, bytes: boolean): void {
    const socket = this.#socket;
    const onError = (err: Error): void => this.#fail(toTlsError(err, this.#handshaking));
    socket.on('error', onError);
    // A server TLSSocket over a Duplex reports some failures only this way.
    socket.on('_tlsError', onError);
    socket.once(config.role === 'client' ? 'secureConnect' : 'secure', () => this.#onSecure());
    if (bytes) {
      socket.on('data', (chunk: Buffer) => {
        if (!this.#dead) this.#host.deliver(chunk);
      });
      socket.on('end', () => {
        if (this.#dead) return;
        this.#host.peerEnded(this.#transportEofGiven && !this.#closeNotifyBeforeEof ? 'transport' : 'close_notify');
      });
    }
    socket.on('session', (session: Buffer) => {
      if (!this.#dead) this.#host.session(session);
    });
    if (config.keylog) {
      socket.on('keylog', (line: Buffer) => {
        if (!this.#dead) this.#host.keylog(line);
      });
    }
  }

  #onSecure(): void {
    if (this.#dead) return;
    this.#handshaking = false;
    const socket = this.#socket;
    // A resumed session may carry only the leaf (no chain), which the X509 getter does not give.
    const peer = socket.getPeerX509Certificate() ?? rawLeaf(socket.getPeerCertificate());
    const cipher = socket.getCipher();
    const facts: HandshakeFacts = {
      protocol: socket.getProtocol() ?? 'unknown',
      cipher: cipher.standardName ?? cipher.name,
      alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
      peerCertificate: peer ? Buffer.from(peer.raw) : null,
      chainError: this.#chainError(peer !== undefined),
      resumed: socket.isSessionReused(),
    };
    this.#host.secure(facts);
  }

  #chainError(hasPeerCertificate: boolean): WirestackError | null {
    // A server that did not ask for a certificate has nothing to judge.
    if (this.#config.role === 'server' && !(this.#config.requestCert && hasPeerCertificate)) return null;
    // A resumed session keeps the verdict of its first handshake (OpenSSL
    // stores it in the session), though Node cannot show the certificate.
    if (!hasPeerCertificate && !this.#socket.isSessionReused()) {
      return this.#config.role === 'client'
        ? verifyError('NO_PEER_CERTIFICATE', 'the server sent no certificate')
        : null;
    }
    const err = (this.#socket as unknown as TlsSocketInternals)._handle?.verifyError() ?? null;
    if (!err) return null;
    return verifyError(err.code ?? 'CERT_INVALID', err.message, err);
  }

  #sniCallback(config: EngineConfig, sniContext: (identity: TlsIdentity) => tls.SecureContext) {
    const choose = config.sni!;
    return (servername: string, callback: (err: Error | null, context?: tls.SecureContext) => void): void => {
      Promise.resolve()
        .then(() => choose(servername))
        .then((identity) => callback(null, identity === undefined ? undefined : sniContext(identity)))
        .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    };
  }

  #fail(error: WirestackError): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#host.fail(error);
    this.#socket.destroy();
    this.#cipher?.destroy();
    this.#port?.destroy();
  }
}

function rawLeaf(certificate: tls.PeerCertificate | Record<string, never>): { raw: Buffer } | undefined {
  const raw = (certificate as Partial<tls.PeerCertificate>).raw;
  return raw && raw.length > 0 ? { raw } : undefined;
}

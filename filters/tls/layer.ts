/**
 * The TLS layer: plaintext above, TLS records below. It drives an engine
 * session (see `engine.ts`) and keeps the policy every engine shares: the
 * handshake timer, certificate and host name verification, telling a
 * close_notify from a truncation, and one coded error for every failure.
 */
import type { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import { WirestackError } from '../../lib/errors.js';
import type { LayerContext } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import { afterPendingEvents, unrefTimer } from '../../lib/runtime.js';
import { secureLayer, type SecureLayerCapability, type TlsSocketFacts } from '../../lib/secure-layer.js';
import type { Duplex } from '../../lib/stream.js';
import type { EngineHost, EngineSession, HandshakeFacts, NativeTarget, NativeTls } from './engine.js';
import { authorizationReason } from './errors.js';
import { SessionInfo, certificateMatchesHost, legacyCertificate, type SecureInfo, type TlsStatus } from './info.js';
import { clientServername, type ResolvedTlsOptions } from './options.js';

/**
 * Called once a write or an end has been taken, with the error if it failed.
 * @inline
 */
type Callback = (err?: Error | null) => void;

// How long a failing layer waits for its last records (an alert) to leave.
const FAIL_FLUSH_MS = 200;

// Sockets a client filter's connect() opened with TLS on them, until the
// filter's attach() makes the layer on them (or they are dropped, unused).
const openedByConnect = new WeakMap<Duplex, {
  readonly options: ResolvedTlsOptions;
  readonly servername: string | undefined;
  readonly host: LayerHost;
  readonly native: NativeTls;
}>();

// The engine host a layer makes before it exists, and then tells who it is.
type LayerHost = EngineHost & { layer: TlsLayer | undefined };

// SecureInfo.authorizationError of a session whose peer had nothing to verify.
const NO_CERTIFICATE = 'the peer sent no certificate (or none was asked for)';

/**
 * One TLS session over the stream below. Events: `'secure'` (SecureInfo),
 * `'session'` (Buffer, client: a session to resume later).
 *
 * An idle connection keeps its layer for as long as it lives, so what is
 * not needed for every connection is made when asked for: the promise
 * behind `secured`, the description of the peer's certificate, the waiters
 * of `unwrap()`.
 */
export class TlsLayer extends Layer {
  readonly #options: ResolvedTlsOptions;
  readonly #session: EngineSession;
  // The native path's handle on how the peer closed (the stream below is the
  // engine's plaintext stream then); undefined on the stream path.
  readonly #nativeTls: NativeTls | undefined;
  // Client: the name the server's certificate must match (SNI name, else the IP connected to).
  readonly #verifyHost: string | undefined;
  // Client: the SNI name sent, if any.
  readonly #servername: string | undefined;
  // Set once the handshake is done and the peer accepted by policy.
  #info: SessionInfo | undefined;
  // Set when the layer is torn down before the handshake was done: why `secured` rejects.
  #handshakeFailure: Error | undefined;
  // `secured`, once somebody asked for it, and how to settle it.
  #secured: Promise<SecureInfo> | undefined;
  #settleSecured: { resolve(info: SecureInfo): void; reject(error: Error): void } | undefined;
  // Set when the peer's side ended, and how ('unknown' on the native path).
  #peerClose: TlsStatus['peerClose'];
  // The handshake timer, until the handshake is done or the layer torn down.
  #timer: NodeJS.Timeout | undefined;
  // unwrap()'s waiters for the peer's end, and for teardown; made by unwrap() only.
  #peerEndWaiters: Array<(how: 'close_notify' | 'transport' | 'unknown') => void> | undefined;
  #tornDown: { promise: Promise<never>; reject(error: Error): void } | undefined;
  // What came from below while the engine session was being opened (over an
  // in-memory pair the peer can answer a client's first flight before
  // open() returns); `null` marks the end. Fed in order once the session
  // exists, then null for good.
  #early: Array<Buffer | null> | null = [];
  // Set when finishOut() or unwrap() has sent our close_notify.
  #closeSent = false;
  // Set when unwrap() (conn.pop()) starts: the peer's close_notify then does not end the readable side.
  #unwrapping = false;
  // The connection, which re-emits 'secure' and 'session'.
  #relay: EventEmitter | undefined;
  // What the connection finds this layer by.
  readonly #capability: SecureLayerCapability;

  /**
   * Makes the layer over `lower`: natively on a socket when the engine can
   * (and, unless truncation is allowed, can also tell a close_notify from a
   * bare end there), otherwise byte by byte through an engine session.
   * @internal Use {@link tls.client} or {@link tls.server}.
   */
  static attach(lower: Duplex, options: ResolvedTlsOptions, ctx: LayerContext): TlsLayer {
    const servername = options.config.role === 'client' ? clientServername(options.servername, ctx.remote.host) : undefined;
    // A socket this filter's connect() opened with TLS already on it.
    const opened = openedByConnect.get(lower);
    if (opened?.options === options) {
      openedByConnect.delete(lower);
      return new TlsLayer(lower, options, ctx, opened.servername, opened.host, opened.native);
    }
    const host = new TlsLayer.#Host();
    const native = options.engine.openOnSocket?.(lower, options.config, { servername }, host, !options.allowTruncation);
    return new TlsLayer(lower, options, ctx, servername, host, native);
  }

  /**
   * @internal
   * For `connect()`, when this client filter is lowest in the stack: opens
   * the connection and its TLS in one native socket, if the engine can,
   * and returns that socket (still connecting) for `connect()` to wait on;
   * the layer is then made on it by `attach()`. `undefined`: open a plain
   * socket instead.
   */
  static connect(target: NativeTarget, options: ResolvedTlsOptions): Duplex | undefined {
    if (options.config.role !== 'client' || !options.engine.connectNative) return undefined;
    const servername = clientServername(options.servername, 'host' in target ? target.host : undefined);
    const host = new TlsLayer.#Host();
    const native = options.engine.connectNative(target, options.config, { servername }, host, !options.allowTruncation);
    if (native === undefined) return undefined;
    openedByConnect.set(native.plaintext, { options, servername, host, native });
    return native.plaintext;
  }

  private constructor(lower: Duplex, options: ResolvedTlsOptions, ctx: LayerContext, servername: string | undefined,
    host: LayerHost, native: NativeTls | undefined) {
    super(native?.plaintext ?? lower, { name: options.name });
    // The engine may call the host from open() on (a client's first flight).
    host.layer = this;
    this.#options = options;
    this.#nativeTls = native;
    this.#capability = new TlsLayer.#Capability(this);
    this.#servername = servername;
    // `servername: false` only stops SNI; the certificate is still checked against the host.
    this.#verifyHost = servername ?? (ctx.remote.host || undefined);
    if (options.handshakeTimeout > 0) {
      this.#timer = setTimeout(() => this.destroy(new WirestackError('ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT',
        `tls: the handshake did not finish within ${options.handshakeTimeout} ms`, { layer: this.name })), options.handshakeTimeout);
      unrefTimer(this.#timer);
    }
    this.#session = native?.session ?? options.engine.open(options.config, { servername }, host);
    const early = this.#early!;
    this.#early = null;
    for (const chunk of early) {
      if (chunk === null) this.finishIn();
      else this.transformIn(chunk);
    }
  }

  /** The capability the connection uses to find this layer (`conn.secured`, `conn.tls`). @internal */
  get [secureLayer](): SecureLayerCapability {
    return this.#capability;
  }

  /** Resolves with the session's facts when the handshake is done; rejects if it fails. */
  get secured(): Promise<SecureInfo> {
    if (this.#secured) return this.#secured;
    if (this.#info) {
      this.#secured = Promise.resolve(this.#info);
    } else if (this.#handshakeFailure) {
      this.#secured = Promise.reject(this.#handshakeFailure);
    } else {
      this.#secured = new Promise<SecureInfo>((resolve, reject) => { this.#settleSecured = { resolve, reject }; });
    }
    // Whoever awaits `secured` still sees the rejection; nobody awaiting is no crash.
    this.#secured.catch(() => {});
    return this.#secured;
  }

  /** The session's facts so far and how the peer closed. */
  get status(): TlsStatus {
    return { info: this.#info, peerClose: this.#peerClose, path: this.#nativeTls ? 'native' : 'stream' };
  }

  // ── what the engine calls ───────────────────────────────────────────────

  // The engine's side of the layer: one object per layer, its methods on the
  // prototype. `layer` is set by the constructor, before the engine session
  // is opened on the stream path. The native paths open their session
  // earlier, and call nothing before the layer exists, but for a failure of
  // a connect() that never got that far: connect() reports it.
  static readonly #Host = class implements LayerHost {
    layer: TlsLayer | undefined;

    transmit(chunks: Buffer[], done: Callback): void {
      this.layer!.sendDown(chunks, done);
    }

    deliver(chunk: Buffer): void {
      this.layer!.pushUp(chunk);
    }

    secure(facts: HandshakeFacts): void {
      this.layer!.#onSecure(facts);
    }

    peerEnded(how: 'close_notify' | 'transport'): void {
      this.layer!.#onPeerEnded(how);
    }

    fail(error: WirestackError, lastRecords?: readonly Buffer[]): void {
      if (this.layer) this.layer.#failAfterFlush(error, lastRecords ?? []);
    }

    session(session: Buffer): void {
      const layer = this.layer!;
      layer.#emit('session', session);
      layer.#options.onSession?.(session);
    }

    keylog(line: Buffer): void {
      if (this.layer) this.layer.#options.keylog?.write(line);
    }
  };

  // What the connection sees of the layer (lib/secure-layer.ts).
  static readonly #Capability = class implements SecureLayerCapability {
    constructor(readonly layer: TlsLayer) {}

    get secured(): Promise<SecureInfo> {
      return this.layer.secured;
    }

    status(): TlsStatus {
      return this.layer.status;
    }

    relayEventsTo(target: EventEmitter): void {
      this.layer.#relay = target;
    }

    get tlsSocket(): TlsSocketFacts {
      return this;
    }

    // ── TlsSocketFacts: Node's TLS socket where the engine has one, else the handshake's facts ──

    get #socket(): tls.TLSSocket | null | undefined {
      return this.layer.#session.tlsSocket;
    }

    get authorized(): boolean {
      return this.layer.#info?.authorized ?? false;
    }

    get authorizationError(): string | null {
      return this.layer.#info?.reason ?? null;
    }

    get servername(): string | false | null | undefined {
      const socket = this.#socket;
      if (socket) return socket.servername;
      return this.layer.#options.config.role === 'client' ? this.layer.#servername ?? false : undefined;
    }

    getPeerCertificate(detailed?: boolean): tls.PeerCertificate | tls.DetailedPeerCertificate | Record<string, never> {
      const socket = this.#socket;
      if (socket) return socket.getPeerCertificate(detailed ?? false);
      const peer = this.layer.#info?.peerX509;
      return peer ? legacyCertificate(peer) : {};
    }

    getCipher(): tls.CipherNameAndProtocol | Record<string, never> {
      const socket = this.#socket;
      if (socket) return socket.getCipher();
      const info = this.layer.#info;
      return info ? { name: info.cipher, standardName: info.cipher, version: info.protocol } : {};
    }

    getProtocol(): string | null {
      return this.#socket?.getProtocol() ?? this.layer.#info?.protocol ?? null;
    }

    isSessionReused(): boolean {
      return this.#socket?.isSessionReused() ?? this.layer.#info?.resumed ?? false;
    }

    getSession(): Buffer | undefined {
      return this.#socket?.getSession();
    }

    exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
      const socket = this.#socket;
      // Node's types ask for a context; its code takes none (RFC 5705: no context is not an empty one).
      if (socket) return (socket.exportKeyingMaterial as (length: number, label: string, context?: Buffer) => Buffer)(length, label, context);
      throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED',
        `tls: the ${this.layer.#options.engine.name} engine cannot export keying material`, { layer: this.layer.name });
    }
  };

  #emit(event: 'secure' | 'session', value: SecureInfo | Buffer): void {
    this.emit(event, value);
    this.#relay?.emit(event, value);
  }

  #onSecure(facts: HandshakeFacts): void {
    const { config } = this.#options;
    // Parsed only if the engine gave it parsed, or the host check needs it.
    const peer = facts.peerX509 ?? facts.peerCertificate;
    let error = facts.chainError;
    if (!error && config.role === 'client' && peer && !facts.resumed) {
      // Safe by default: a name we cannot check is not a name that matched.
      const host = this.#verifyHost;
      if (host === undefined) {
        error = new WirestackError('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH',
          'tls: no host name to check the server\'s certificate against (give servername, or connect by host name)', { layer: this.name });
      } else if (!(facts.matchesHost ? facts.matchesHost(host) : certificateMatchesHost(peer, host))) {
        error = new WirestackError('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH',
          `tls: the server's certificate is not valid for "${this.#verifyHost}"`, { layer: this.name });
      }
    }
    const mustVerify = config.role === 'client' || config.requestCert;
    if (error && mustVerify && config.rejectUnauthorized) {
      this.destroy(error);
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const authorized = error === null && (peer !== null || (facts.resumed && mustVerify));
    const info = new SessionInfo({
      protocol: facts.protocol,
      cipher: facts.cipher,
      alpn: facts.alpn,
      resumed: facts.resumed,
      authorized,
      authorizationError: error ? `${error.code}: ${error.message}` : authorized ? null : NO_CERTIFICATE,
      reason: error ? authorizationReason(error) : null,
      peer,
    });
    this.#info = info;
    this.#settleSecured?.resolve(info);
    this.#settleSecured = undefined;
    this.#emit('secure', info);
  }

  // The engine's last records are usually an alert telling the peer why;
  // send the ones it still held, end the transport so they are delivered (a
  // destroy would reset it and the alert could be lost), then fail. Bounded,
  // for a peer that never reads: the only wait a failure costs (engines
  // report at once, engine rule 6), and none when the transport is full.
  #failAfterFlush(error: WirestackError, lastRecords: readonly Buffer[]): void {
    if (this.#nativeTls || this.destroyed || !this.lowerWritable) {
      this.destroy(error);
      return;
    }
    if (lastRecords.length > 0 && !this.writeDown([...lastRecords])) {
      this.destroy(error);
      return;
    }
    const fail = (): void => {
      clearTimeout(timer);
      this.destroy(error);
    };
    const timer = unrefTimer(setTimeout(fail, FAIL_FLUSH_MS));
    this.endLower(fail);
  }

  #onPeerEnded(how: 'close_notify' | 'transport' | 'unknown'): void {
    this.#peerClose = how;
    const waiters = this.#peerEndWaiters;
    this.#peerEndWaiters = undefined;
    for (const waiter of waiters ?? []) waiter(how);
    if (this.#info === undefined) {
      this.destroy(new WirestackError('ERR_WIRESTACK_TLS_HANDSHAKE',
        'tls: handshake failed: the peer closed the connection during the handshake', { layer: this.name }));
      return;
    }
    if (how === 'transport' && !this.#options.allowTruncation) {
      this.destroy(new WirestackError('ERR_WIRESTACK_TLS_TRUNCATED',
        'tls: the transport ended without a close_notify (possible truncation attack; allowTruncation accepts it)', { layer: this.name }));
      return;
    }
    // A layer being removed (pop) does not end: the stream below goes on.
    // With an engine that can be removed, the end waits one turn of the
    // event loop, so an application that reacts to the data just before the
    // close_notify (a "stop TLS" reply) can still call pop().
    if (how === 'close_notify' && this.#session.unwrap) {
      if (!this.#unwrapping) afterPendingEvents(() => { if (!this.#unwrapping && !this.destroyed) this.pushUp(null); });
      return;
    }
    this.pushUp(null);
  }

  // ── Layer hooks ─────────────────────────────────────────────────────────

  // On the native path the stream below already carries plaintext, and
  // ending it sends close_notify and FIN: the Layer defaults do the job.

  protected override transformIn(chunk: Buffer): void {
    if (this.#early) this.#early.push(chunk);
    else if (this.#nativeTls) this.pushUp(chunk);
    else this.#session.receive(chunk);
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    if (this.#nativeTls) this.sendDown(chunks, done);
    else this.#session.send(chunks, done);
  }

  // close_notify belongs after the handshake: an end() made before it waits
  // for the session, so the peer sees a clean close, not a truncation.
  protected override finishOut(done: Callback): void {
    const close = (): void => {
      if (this.#nativeTls) done();
      else this.#sendCloseNotify(done);
    };
    if (this.#info !== undefined) close();
    // Natively, the end must not reach OpenSSL from inside the handshake's
    // own callback: Node's TLS socket would then drop the application data
    // that came in the same read as the peer's Finished (a TLS 1.3 client
    // that writes at once loses its first record). A turn later it is safe.
    else if (this.#nativeTls) this.secured.then(() => afterPendingEvents(close), (err: Error) => done(err));
    else this.secured.then(close, (err: Error) => done(err));
  }

  // The transport's end is not our end: the engine says whether a
  // close_notify came first (peerEnded), and that decides. Natively the
  // engine reads it off the socket's handles ('unknown' where it cannot,
  // which happens only when truncation is allowed).
  protected override finishIn(): void {
    if (this.#early) this.#early.push(null);
    else if (this.#nativeTls) this.#onPeerEnded(this.#nativeTls.peerClose());
    else this.#session.transportEnded();
  }

  protected override teardown(error: Error | null): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#tornDown?.reject(error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
      'tls: the layer was torn down before the TLS stream ended', { layer: this.name }));
    // Undefined only when the engine failed inside open(); it destroys itself then.
    (this.#session as EngineSession | undefined)?.destroy();
    // After a handshake `secured` is settled: no error to make (a stack trace costs).
    if (this.#info === undefined) {
      this.#handshakeFailure = error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
        'tls: the connection closed before the handshake finished', { layer: this.name });
      this.#settleSecured?.reject(this.#handshakeFailure);
      this.#settleSecured = undefined;
    }
  }

  /**
   * For `conn.pop()`: sends close_notify, waits for the peer's, and returns
   * the bytes that followed it. Only engines that find the exact end of the
   * TLS stream can do this; the node engine cannot (OpenSSL reads ahead).
   */
  override async unwrap(): Promise<Buffer[]> {
    const unwrapSession = this.#session.unwrap?.bind(this.#session);
    if (!unwrapSession) {
      throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED',
        `tls: the ${this.#options.engine.name} engine cannot find the exact end of the TLS stream, so the layer cannot be removed`,
        { layer: this.name });
    }
    this.#unwrapping = true;
    const tornDown = this.#whenTornDown();
    await Promise.race([
      new Promise<void>((resolve, reject) => this.#sendCloseNotify((err) => (err ? reject(err) : resolve()))),
      tornDown,
    ]);
    const how = this.#peerClose ?? await Promise.race([
      new Promise<'close_notify' | 'transport' | 'unknown'>((resolve) => (this.#peerEndWaiters ??= []).push(resolve)),
      tornDown,
    ]);
    if (how !== 'close_notify') {
      throw new WirestackError('ERR_WIRESTACK_TLS_TRUNCATED', 'tls: the transport ended without a close_notify', { layer: this.name });
    }
    return unwrapSession();
  }

  // Rejects at teardown, so that an unwrap() waiting on the peer settles.
  #whenTornDown(): Promise<never> {
    if (this.destroyed) {
      return Promise.reject(new WirestackError('ERR_WIRESTACK_CLOSED', 'tls: the layer was torn down', { layer: this.name }));
    }
    if (!this.#tornDown) {
      let reject!: (error: Error) => void;
      const promise = new Promise<never>((_, rejectPromise) => { reject = rejectPromise; });
      promise.catch(() => {});
      this.#tornDown = { promise, reject };
    }
    return this.#tornDown.promise;
  }

  #sendCloseNotify(done: Callback): void {
    if (this.#closeSent) {
      done();
      return;
    }
    this.#closeSent = true;
    this.#session.close(done);
  }
}

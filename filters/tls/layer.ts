/**
 * The TLS layer: plaintext above, TLS records below. It drives an engine
 * session (see `engine.ts`) and keeps the policy every engine shares: the
 * handshake timer, certificate and host name verification, telling a
 * close_notify from a truncation, and one coded error for every failure.
 */
import { WirestackError } from '../../lib/errors.js';
import type { LayerContext } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import { afterPendingEvents, unrefTimer } from '../../lib/runtime.js';
import { secureLayer, type SecureLayerCapability } from '../../lib/secure-layer.js';
import type { Duplex } from '../../lib/stream.js';
import type { EngineHost, EngineSession, HandshakeFacts, NativeTls } from './engine.js';
import { certificateMatchesHost, describeCertificate, parseCertificate, type SecureInfo, type TlsStatus } from './info.js';
import { clientServername, type ResolvedTlsOptions } from './options.js';

type Callback = (err?: Error | null) => void;

// How long a failing layer waits for its last records (an alert) to leave.
const FAIL_FLUSH_MS = 200;

/**
 * One TLS session over the stream below. Events: `'secure'` (SecureInfo),
 * `'session'` (Buffer, client: a session to resume later).
 */
export class TlsLayer extends Layer {
  readonly #options: ResolvedTlsOptions;
  readonly #session: EngineSession;
  // True on the native fast path: the stream below is the engine's plaintext stream.
  readonly #native: boolean;
  // The native path's handle on how the peer closed; undefined on the stream path.
  readonly #nativeTls: NativeTls | undefined;
  // Client: the name the server's certificate must match (SNI name, else the IP connected to).
  readonly #verifyHost: string | undefined;
  // Set once the handshake is done and the peer accepted by policy.
  #info: SecureInfo | undefined;
  // Set when the peer's side ended, and how ('unknown' on the native path).
  #peerClose: TlsStatus['peerClose'];
  // The handshake timer; cleared at 'secure' or teardown.
  #timer: NodeJS.Timeout | undefined;
  // The close_notify waiters of unwrap(): resolved or rejected at the peer's end.
  #peerEndWaiters: Array<(how: 'close_notify' | 'transport' | 'unknown') => void> = [];
  // What came from below while the engine session was being opened (over an
  // in-memory pair the peer can answer a client's first flight before
  // open() returns); `null` marks the end. Fed in order once the session
  // exists, then null for good.
  #early: Array<Buffer | null> | null = [];
  // Set when finishOut() or unwrap() has sent our close_notify.
  #closeSent = false;
  // Set when unwrap() (conn.pop()) starts: the peer's close_notify then does not end the readable side.
  #unwrapping = false;
  readonly #secured: Promise<SecureInfo>;
  #resolveSecured!: (info: SecureInfo) => void;
  #rejectSecured!: (error: Error) => void;
  // Rejects at teardown, so that an unwrap() waiting on the peer settles.
  readonly #tornDown: Promise<never>;
  #rejectTornDown!: (error: Error) => void;

  /**
   * Makes the layer over `lower`: natively on a connected socket when the
   * engine can (and, unless truncation is allowed, can also tell a
   * close_notify from a bare end there), otherwise byte by byte through an
   * engine session.
   */
  static attach(lower: Duplex, options: ResolvedTlsOptions, ctx: LayerContext): TlsLayer {
    const servername = options.config.role === 'client' ? clientServername(options.servername, ctx.remote.host) : undefined;
    // The engine may call back before the constructor returns (a client's
    // first flight); the box is filled in by the constructor before then.
    const box: { layer?: TlsLayer } = {};
    const relay: EngineHost = {
      transmit: (chunks, done) => box.layer!.#host.transmit(chunks, done),
      deliver: (chunk) => box.layer!.#host.deliver(chunk),
      secure: (facts) => box.layer!.#host.secure(facts),
      peerEnded: (how) => box.layer!.#host.peerEnded(how),
      fail: (error) => box.layer!.#host.fail(error),
      session: (session) => box.layer!.#host.session(session),
      keylog: (line) => box.layer!.#host.keylog(line),
    };
    const native = options.engine.openOnSocket?.(lower, options.config, { servername }, relay, !options.allowTruncation);
    return new TlsLayer(lower, options, ctx, servername, box, relay, native);
  }

  private constructor(lower: Duplex, options: ResolvedTlsOptions, ctx: LayerContext, servername: string | undefined,
    box: { layer?: TlsLayer }, relay: EngineHost, native: NativeTls | undefined) {
    super(native?.plaintext ?? lower, { name: options.name });
    box.layer = this;
    this.#options = options;
    this.#native = native !== undefined;
    this.#nativeTls = native;
    this.#secured = new Promise<SecureInfo>((resolve, reject) => {
      this.#resolveSecured = resolve;
      this.#rejectSecured = reject;
    });
    // Whoever awaits `secured` still sees the rejection; nobody awaiting is no crash.
    this.#secured.catch(() => {});
    this.#tornDown = new Promise<never>((_, reject) => { this.#rejectTornDown = reject; });
    this.#tornDown.catch(() => {});
    // `servername: false` only stops SNI; the certificate is still checked against the host.
    this.#verifyHost = servername ?? (ctx.remote.host || undefined);
    if (options.handshakeTimeout > 0) {
      this.#timer = setTimeout(() => this.destroy(new WirestackError('ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT',
        `tls: the handshake did not finish within ${options.handshakeTimeout} ms`, { layer: this.name })), options.handshakeTimeout);
      unrefTimer(this.#timer);
    }
    this.#session = native?.session ?? options.engine.open(options.config, { servername }, relay);
    const early = this.#early!;
    this.#early = null;
    for (const chunk of early) {
      if (chunk === null) this.finishIn();
      else this.transformIn(chunk);
    }
  }

  /** The capability the connection uses to find this layer (`conn.secured`, `conn.tls`). */
  get [secureLayer](): SecureLayerCapability {
    return { secured: this.#secured, status: () => this.status };
  }

  /** Resolves with the session's facts when the handshake is done; rejects if it fails. */
  get secured(): Promise<SecureInfo> {
    return this.#secured;
  }

  /** The session's facts so far and how the peer closed. */
  get status(): TlsStatus {
    return { info: this.#info, peerClose: this.#peerClose, path: this.#native ? 'native' : 'stream' };
  }

  // ── what the engine calls ───────────────────────────────────────────────

  readonly #host: EngineHost = {
    transmit: (chunks, done) => this.sendDown(chunks, done),
    deliver: (chunk) => {
      this.pushUp(chunk);
    },
    secure: (facts) => this.#onSecure(facts),
    peerEnded: (how) => this.#onPeerEnded(how),
    fail: (error) => this.#failAfterFlush(error),
    session: (session) => {
      this.emit('session', session);
      this.#options.onSession?.(session);
    },
    keylog: (line) => {
      this.#options.keylog?.write(line);
    },
  };

  #onSecure(facts: HandshakeFacts): void {
    const { config } = this.#options;
    // Parsed once for the host check and the description.
    const peer = facts.peerCertificate ? parseCertificate(facts.peerCertificate) : null;
    let error = facts.chainError;
    if (!error && config.role === 'client' && peer && !facts.resumed) {
      // Safe by default: a name we cannot check is not a name that matched.
      if (this.#verifyHost === undefined) {
        error = new WirestackError('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH',
          'tls: no host name to check the server\'s certificate against (give servername, or connect by host name)', { layer: this.name });
      } else if (!certificateMatchesHost(peer, this.#verifyHost)) {
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
    const authorized = error === null && (facts.peerCertificate !== null || (facts.resumed && mustVerify));
    this.#info = {
      protocol: facts.protocol,
      cipher: facts.cipher,
      alpn: facts.alpn,
      peerCertificate: peer ? describeCertificate(peer) : null,
      authorized,
      authorizationError: error ? `${error.code}: ${error.message}` : authorized ? null : 'the peer sent no certificate (or none was asked for)',
      resumed: facts.resumed,
    };
    this.#resolveSecured(this.#info);
    this.emit('secure', this.#info);
  }

  // The engine's last records are usually an alert telling the peer why;
  // end the transport so they are delivered (a destroy would reset it and
  // the alert could be lost), then fail. Bounded, for a peer that never reads.
  #failAfterFlush(error: WirestackError): void {
    if (this.#native || this.destroyed || !this.lowerWritable) {
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
    this.#peerEndWaiters = [];
    for (const waiter of waiters) waiter(how);
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
    else if (this.#native) this.pushUp(chunk);
    else this.#session.receive(chunk);
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    if (this.#native) this.sendDown(chunks, done);
    else this.#session.send(chunks, done);
  }

  // close_notify belongs after the handshake: an end() made before it waits
  // for the session, so the peer sees a clean close, not a truncation.
  protected override finishOut(done: Callback): void {
    const close = (): void => {
      if (this.#native) done();
      else this.#sendCloseNotify(done);
    };
    if (this.#info !== undefined) close();
    else this.#secured.then(close, (err: Error) => done(err));
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
    this.#rejectTornDown(error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
      'tls: the layer was torn down before the TLS stream ended', { layer: this.name }));
    // Undefined only when the engine failed inside open(); it destroys itself then.
    (this.#session as EngineSession | undefined)?.destroy();
    // After a handshake `secured` is settled: no error to make (a stack trace costs).
    if (error || this.#info === undefined) {
      this.#rejectSecured(error ?? new WirestackError('ERR_WIRESTACK_CLOSED',
        'tls: the connection closed before the handshake finished', { layer: this.name }));
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
    await Promise.race([
      new Promise<void>((resolve, reject) => this.#sendCloseNotify((err) => (err ? reject(err) : resolve()))),
      this.#tornDown,
    ]);
    const how = this.#peerClose ?? await Promise.race([
      new Promise<'close_notify' | 'transport' | 'unknown'>((resolve) => this.#peerEndWaiters.push(resolve)),
      this.#tornDown,
    ]);
    if (how !== 'close_notify') {
      throw new WirestackError('ERR_WIRESTACK_TLS_TRUNCATED', 'tls: the transport ended without a close_notify', { layer: this.name });
    }
    return unwrapSession();
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

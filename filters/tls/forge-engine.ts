/**
 * The `forge` engine: TLS in pure JavaScript on node-forge, behind the
 * byte-oriented engine interface. node-forge does no I/O: ciphertext goes
 * in with `process()`, plaintext with `prepare()`, and it hands bytes out
 * through `tlsDataReady` / `dataReady`, as binary strings.
 *
 * Limits (node-forge's): TLS 1.0 and 1.1, RSA key exchange (no forward
 * secrecy), `TLS_RSA_WITH_AES_128_CBC_SHA` and `TLS_RSA_WITH_AES_256_CBC_SHA`
 * only; a forge server answers TLS 1.0. No ALPN, session resumption, ticket
 * keys, SNI callback or PKCS#12: `check()` refuses those options.
 *
 * Records are framed here, and handed to forge one whole record at a time:
 * so the exact end of the TLS stream (the record holding the peer's
 * close_notify) is known, and the bytes after it are kept for `unwrap()`.
 * forge's `close()` is replaced: forge would answer a close_notify at once
 * and reset the connection, which would forbid half-close both ways.
 */
import forge from 'node-forge';
import { WirestackError } from '../../lib/errors.js';
import type { EngineConfig, EngineHost, EngineSession, HandshakeFacts, SessionParams, TlsEngine, TlsVersion } from './engine.js';
import { alertError, unsupported } from './errors.js';
import { refuseUnsupported, suiteNames } from './forge-options.js';
import { useSecureRandom } from './forge-random.js';
import { parseCertificates, splitPem, verifyChain } from './verify.js';

type Callback = (err?: Error | null) => void;

// Record content types and the largest record a peer may send (2^14 plus
// the most expansion TLS 1.0–1.2 allow).
const ALERT = 21;
const MIN_TYPE = 20;
const MAX_TYPE = 24;
const MAX_RECORD = 16384 + 2048;
// Most bytes kept after the peer's close_notify, waiting for pop().
const MAX_TAIL = 1 << 20;
// Plaintext per record forge makes (its tls.MaxFragment).
const RECORD_PLAINTEXT = 16384 - 1024;

const PROTOCOLS: Readonly<Record<number, TlsVersion>> = { 1: 'TLSv1', 2: 'TLSv1.1' };
const VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// Alert names by number, for received alerts (forge.tls.Alert.Description inverted).
const ALERT_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(forge.tls.Alert.Description as unknown as Record<string, number>).map(([name, n]) => [n, name]));

/** What one filter's sessions share, derived once from its config by `check()`. */
interface Prepared {
  readonly anchors: forge.pki.Certificate[];
  /** Own certificate chain (PEM, leaf first), or empty. */
  readonly chain: string[];
  /** Own private key, unencrypted PEM, or undefined. */
  readonly key: string | undefined;
  readonly suites: forge.tls.CipherSuite[];
}

// The parts of a forge connection this engine reads beyond the typings.
interface WriteState {
  update(c: forge.tls.Connection, record: forge.tls.Record): boolean;
}
interface SessionInternals {
  sp: { client_random: string; master_secret: string };
  cipherSuite: forge.tls.CipherSuite | null;
  version: { major: number; minor: number } | null;
}

class ForgeEngine implements TlsEngine {
  readonly name = 'forge';
  readonly #prepared = new WeakMap<EngineConfig, Prepared>();

  check(config: EngineConfig): void {
    useSecureRandom();
    this.#prepare(config);
  }

  open(config: EngineConfig, params: SessionParams, host: EngineHost): EngineSession {
    return new ForgeSession(this.#prepare(config), config, params, host);
  }

  #prepare(config: EngineConfig): Prepared {
    let prepared = this.#prepared.get(config);
    if (!prepared) {
      refuseUnsupported(config);
      prepared = {
        anchors: parseCertificates(config.ca, 'CA certificate'),
        chain: splitPem(config.cert, 'CERTIFICATE'),
        key: readKey(config),
        suites: cipherSuites(config.ciphers),
      };
      if (prepared.chain.length > 0) parseCertificates(prepared.chain[0], 'certificate');
      if ((prepared.chain.length > 0) !== (prepared.key !== undefined)) invalid('cert and key must be given together');
      this.#prepared.set(config, prepared);
    }
    return prepared;
  }
}

/** The engine built on node-forge (pure JavaScript; TLS 1.0/1.1, RSA, AES-CBC). */
export const forgeEngine: TlsEngine = new ForgeEngine();

function readKey(config: EngineConfig): string | undefined {
  const pems = splitPem(config.key, '(?:RSA |ENCRYPTED )?PRIVATE KEY');
  if (pems.length === 0) {
    if (config.key !== undefined) unsupported('key', 'the forge engine reads RSA private keys in PEM only');
    return undefined;
  }
  try {
    const key = config.passphrase === undefined
      ? forge.pki.privateKeyFromPem(pems[0]!)
      : forge.pki.decryptRsaPrivateKey(pems[0]!, config.passphrase);
    if (!key) throw new Error('wrong passphrase');
    return forge.pki.privateKeyToPem(key);
  } catch (err) {
    return unsupported('key', `the forge engine cannot read the private key (RSA only): ${(err as Error).message}`);
  }
}

function cipherSuites(ciphers: string | undefined): forge.tls.CipherSuite[] {
  return suiteNames(ciphers).map((name) => forge.tls.CipherSuites[name]!);
}

function invalid(message: string): never {
  throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `tls: ${message}`, { layer: 'tls' });
}

class ForgeSession implements EngineSession {
  readonly #host: EngineHost;
  readonly #config: EngineConfig;
  readonly #prepared: Prepared;
  readonly #conn: forge.tls.Connection;
  // Set by destroy() or at a failure: nothing more is processed, no more host calls.
  #dead = false;
  // True until forge's `connected`.
  #handshaking = true;
  // Ciphertext received and not yet handed to forge: a partial record.
  #inbox: Buffer[] = [];
  #inboxBytes = 0;
  // Ciphertext to transmit, and whether a transmit is outstanding (engine rule 4).
  #outbox: Buffer[] = [];
  #transmitting = false;
  // Callbacks waiting for the outbox to empty (send/close done).
  #flushWaiters: Callback[] = [];
  // Plaintext sent before the handshake finished, and a close asked for then.
  #early: Array<{ chunks: Buffer[]; done: Callback }> = [];
  #earlyClose: Callback | null = null;
  // The chain verdict, computed while forge reads the peer's certificates.
  #chainError: WirestackError | null = null;
  // The peer's certificates as sent, leaf first.
  #peerChain: forge.pki.Certificate[] = [];
  // Set when the peer's close_notify was processed; bytes after it are kept in #tail.
  #closeNotify = false;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  // Set once host.peerEnded() was called.
  #peerEndSaid = false;

  constructor(prepared: Prepared, config: EngineConfig, params: SessionParams, host: EngineHost) {
    this.#host = host;
    this.#config = config;
    this.#prepared = prepared;
    const server = config.role === 'server';
    this.#conn = forge.tls.createConnection({
      server,
      cipherSuites: prepared.suites,
      // The SNI name a client sends (forge's name for it).
      ...(params.servername === undefined ? {} : { virtualHost: params.servername }),
      // An empty store: forge's own chain check is bypassed by `verify`, which
      // computes the verdict with verify.ts and lets the filter decide (engine rule 5).
      caStore: [],
      verifyClient: server && config.requestCert ? (config.rejectUnauthorized ? true : 'optional' as unknown as boolean) : false,
      verify: (_c, _verified, depth, certs) => {
        if (depth === 0) {
          this.#peerChain = certs;
          this.#chainError = verifyChain(certs, prepared.anchors, server ? 'clientAuth' : 'serverAuth');
        }
        return true;
      },
      ...(prepared.chain.length > 0 ? {
        getCertificate: () => prepared.chain,
        getPrivateKey: () => prepared.key!,
      } : {}),
      connected: () => this.#onConnected(),
      tlsDataReady: (c) => {
        const bytes = c.tlsData.getBytes();
        if (bytes.length > 0) this.#transmit(Buffer.from(bytes, 'latin1'));
      },
      dataReady: (c) => {
        const bytes = c.data.getBytes();
        // OpenSSL sends empty records in TLS 1.0 CBC (against BEAST): nothing to deliver.
        if (bytes.length > 0 && !this.#dead) this.#host.deliver(Buffer.from(bytes, 'latin1'));
      },
      closed: () => {},
      error: (_c, error) => this.#onForgeError(error),
    });
    // forge calls close() for a received close_notify (and after a fatal
    // error, with `fail` set). Taking it over keeps both directions open.
    this.#conn.close = () => {
      if (!this.#conn.fail) this.#closeNotify = true;
      return this.#conn;
    };
    if (!server) {
      // Only TLS 1.0 when the user caps it there; forge offers 1.1 otherwise.
      if (config.maxVersion === 'TLSv1') this.#conn.version = { major: 3, minor: 1 } as forge.tls.ProtocolVersion;
      // Host callbacks only after open() returned (engine rule 3).
      queueMicrotask(() => {
        if (!this.#dead) this.#conn.handshake();
      });
    }
  }

  receive(chunk: Buffer): void {
    if (this.#dead) return;
    if (this.#closeNotify) {
      this.#keepTail(chunk);
      return;
    }
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.length;
    this.#processRecords();
  }

  send(chunks: Buffer[], done: Callback): void {
    if (this.#dead) return;
    if (this.#handshaking) {
      this.#early.push({ chunks, done });
      return;
    }
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    // One record's worth per prepare(): forge slows down badly on one huge string.
    for (let at = 0; at < data.length; at += RECORD_PLAINTEXT) {
      this.#conn.prepare(data.toString('latin1', at, Math.min(at + RECORD_PLAINTEXT, data.length)));
    }
    this.#whenFlushed(done);
  }

  close(done: Callback): void {
    if (this.#dead) return;
    if (this.#handshaking) {
      this.#earlyClose = done;
      return;
    }
    this.#sendCloseNotify();
    this.#whenFlushed(done);
  }

  transportEnded(): void {
    if (this.#dead || this.#peerEndSaid) return;
    this.#peerEndSaid = true;
    this.#host.peerEnded('transport');
  }

  unwrap(): Promise<Buffer[]> {
    const tail = this.#tail;
    this.#tail = [];
    this.#tailBytes = 0;
    return Promise.resolve(tail);
  }

  destroy(): void {
    this.#dead = true;
    this.#inbox = [];
    this.#outbox = [];
    this.#early = [];
  }

  // Hands every complete record to forge, one at a time, and stops at the
  // peer's close_notify: what follows it is not ours.
  #processRecords(): void {
    while (!this.#dead && !this.#closeNotify && this.#inboxBytes >= 5) {
      const head = this.#inbox[0]!.length >= 5 ? this.#inbox[0]! : this.#take(this.#inboxBytes, true);
      const type = head[0]!;
      const length = head.readUInt16BE(3);
      if (type < MIN_TYPE || type > MAX_TYPE || head[1] !== 3 || length > MAX_RECORD) {
        this.#fail(new WirestackError(this.#handshaking ? 'ERR_WIRESTACK_TLS_HANDSHAKE' : 'ERR_WIRESTACK_TLS',
          `tls: ${this.#handshaking ? 'handshake failed: ' : ''}the peer sent something that is not a TLS record`, { layer: 'tls' }));
        return;
      }
      if (this.#inboxBytes < 5 + length) return;
      const record = this.#take(5 + length, false);
      this.#conn.process(record.toString('latin1'));
      if (type === ALERT && this.#closeNotify) this.#onCloseNotify();
    }
  }

  // Removes the first `n` bytes of the inbox (or, with `peek`, joins them
  // into one buffer left in place) and returns them.
  #take(n: number, peek: boolean): Buffer {
    const all = this.#inbox.length === 1 ? this.#inbox[0]! : Buffer.concat(this.#inbox, this.#inboxBytes);
    if (peek) {
      this.#inbox = [all];
      return all;
    }
    this.#inboxBytes -= n;
    this.#inbox = this.#inboxBytes > 0 ? [all.subarray(n)] : [];
    return all.subarray(0, n);
  }

  #onCloseNotify(): void {
    const rest = this.#inbox;
    this.#inbox = [];
    this.#inboxBytes = 0;
    for (const chunk of rest) this.#keepTail(chunk);
    if (this.#dead) return;
    if (!this.#peerEndSaid) {
      this.#peerEndSaid = true;
      this.#host.peerEnded('close_notify');
    }
  }

  // Bytes after the peer's close_notify belong to the stream below (for
  // pop()); nothing reads them until then, so they are bounded.
  #keepTail(chunk: Buffer): void {
    this.#tailBytes += chunk.length;
    if (this.#tailBytes > MAX_TAIL) {
      this.#fail(new WirestackError('ERR_WIRESTACK_TLS',
        `tls: the peer sent more than ${MAX_TAIL} bytes after its close_notify, and nothing removed the TLS layer to read them`, { layer: 'tls' }));
      return;
    }
    this.#tail.push(chunk);
  }

  #onConnected(): void {
    if (this.#dead) return;
    const session = this.#conn.session as unknown as SessionInternals;
    const protocol = PROTOCOLS[session.version?.minor ?? 0] ?? 'unknown';
    const suite = session.cipherSuite;
    if (VERSION_ORDER.indexOf(protocol as TlsVersion) < VERSION_ORDER.indexOf(this.#config.minVersion)) {
      this.#fail(new WirestackError('ERR_WIRESTACK_TLS_HANDSHAKE',
        `tls: handshake failed: the peer chose ${protocol}, below minVersion ${this.#config.minVersion}`, { layer: 'tls' }));
      return;
    }
    if (!suite || !this.#prepared.suites.includes(suite)) {
      // forge does not check the suite the peer chose against its own list.
      this.#fail(new WirestackError('ERR_WIRESTACK_TLS_HANDSHAKE',
        `tls: handshake failed: the peer chose cipher suite ${suite?.name ?? 'unknown'}, which is not allowed`, { layer: 'tls' }));
      return;
    }
    this.#handshaking = false;
    if (this.#config.keylog) {
      this.#host.keylog(Buffer.from(`CLIENT_RANDOM ${hex(session.sp.client_random)} ${hex(session.sp.master_secret)}\n`));
    }
    const leaf = this.#peerChain[0];
    const facts: HandshakeFacts = {
      protocol,
      cipher: suite.name,
      alpn: null,
      peerCertificate: leaf ? Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(leaf)).getBytes(), 'latin1') : null,
      chainError: leaf ? this.#chainError : null,
      resumed: false,
    };
    this.#host.secure(facts);
    // Data and a close the application gave during the handshake go now, in order.
    const early = this.#early;
    this.#early = [];
    for (const { chunks, done } of early) this.send(chunks, done);
    const earlyClose = this.#earlyClose;
    this.#earlyClose = null;
    if (earlyClose) this.close(earlyClose);
  }

  // forge reports its own failures (it has queued an alert for the peer,
  // transmitted before this) and the fatal alerts the peer sent.
  #onForgeError(error: forge.tls.TLSError): void {
    const received = error.origin !== this.#config.role;
    const alertName = ALERT_NAMES.get(error.alert?.description) ?? `alert ${String(error.alert?.description)}`;
    if (received) {
      this.#fail(alertError(alertName));
      return;
    }
    const cause = (error as { cause?: unknown }).cause;
    this.#fail(new WirestackError(this.#handshaking ? 'ERR_WIRESTACK_TLS_HANDSHAKE' : 'ERR_WIRESTACK_TLS',
      `tls: ${this.#handshaking ? 'handshake failed: ' : ''}${error.message} (sent ${alertName})`, { layer: 'tls', cause }));
  }

  // forge cannot make an alert record for us after its close() is taken
  // over, so encrypt one with its current write state, as its flush would.
  #sendCloseNotify(): void {
    const conn = this.#conn;
    const record = {
      type: ALERT,
      version: { major: conn.version.major, minor: conn.version.minor },
      length: 2,
      fragment: forge.util.createBuffer('\x01\x00'),
    } as unknown as forge.tls.Record;
    const write = (conn.state.current as unknown as { write: WriteState }).write;
    if (!write.update(conn, record)) return;
    const body = record.fragment.getBytes();
    const header = Buffer.from([ALERT, conn.version.major, conn.version.minor, body.length >> 8, body.length & 0xff]);
    this.#transmit(Buffer.concat([header, Buffer.from(body, 'latin1')]));
  }

  #transmit(chunk: Buffer): void {
    if (this.#dead) return;
    this.#outbox.push(chunk);
    this.#flushOutbox();
  }

  #flushOutbox(): void {
    if (this.#transmitting || this.#dead) return;
    if (this.#outbox.length === 0) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const waiter of waiters) waiter();
      return;
    }
    const batch = this.#outbox;
    this.#outbox = [];
    this.#transmitting = true;
    this.#host.transmit(batch, (err) => {
      this.#transmitting = false;
      if (err) {
        const waiters = this.#flushWaiters;
        this.#flushWaiters = [];
        for (const waiter of waiters) waiter(err);
        return;
      }
      this.#flushOutbox();
    });
  }

  #whenFlushed(done: Callback): void {
    if (!this.#transmitting && this.#outbox.length === 0) done();
    else this.#flushWaiters.push(done);
  }

  // forge has usually queued an alert telling the peer why: what is not
  // transmitted yet goes with the failure, reported at once, and the filter
  // sends it before ending the transport (engine rule 6). Waiting here for
  // a transmit in flight would add a second wait to the filter's.
  #fail(error: WirestackError): void {
    if (this.#dead) return;
    this.#dead = true;
    const lastRecords = this.#outbox;
    this.#outbox = [];
    this.#host.fail(error, lastRecords);
  }
}

function hex(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('hex');
}

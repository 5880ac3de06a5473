/**
 * What the application learns about a TLS session once the handshake is
 * done (`await conn.secured`, the `'secure'` event, `conn.tls`).
 */
import { type ParsedCertificate, describeCertificate, parseCertificate } from './x509.js';

/** The peer's leaf certificate, described. */
export interface PeerCertificate {
  /** Subject distinguished name, one `key=value` per line (`CN=localhost`). */
  readonly subject: string;
  /** Issuer distinguished name, same form. */
  readonly issuer: string;
  /** Subject alternative names as OpenSSL prints them: `'DNS:localhost'`, `'IP Address:127.0.0.1'`. */
  readonly subjectAltNames: readonly string[];
  /** Start of validity. */
  readonly validFrom: Date;
  /** End of validity. */
  readonly validTo: Date;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256`). */
  readonly fingerprint256: string;
  /** The certificate itself, DER. */
  readonly raw: Buffer;
}

/** The facts of an established TLS session. */
export interface SecureInfo {
  /** Negotiated protocol version, e.g. `'TLSv1.3'`. */
  readonly protocol: string;
  /** Negotiated cipher suite (IANA name), e.g. `'TLS_AES_256_GCM_SHA384'`. */
  readonly cipher: string;
  /** The ALPN protocol agreed, or `null`. */
  readonly alpn: string | null;
  /**
   * The peer's certificate, or `null` if it sent none (clients usually do
   * not). With the node engine also `null` on a resumed session: OpenSSL
   * keeps no certificate for it; `authorized` is the first handshake's verdict.
   */
  readonly peerCertificate: PeerCertificate | null;
  /** Whether the peer's certificate was verified: chain, validity and (on clients) host name. */
  readonly authorized: boolean;
  /** Why not, when `authorized` is false: the error code and message (`'ERR_WIRESTACK_TLS_UNKNOWN_CA: …'`). */
  readonly authorizationError: string | null;
  /** Whether an earlier session was resumed. */
  readonly resumed: boolean;
}

/** The state of a connection's topmost TLS layer (`conn.tls`). */
export interface TlsStatus {
  /** The session's facts, once the handshake is done. */
  readonly info: SecureInfo | undefined;
  /**
   * How the peer ended its side: `'close_notify'` (a proper TLS close),
   * `'transport'` (the transport ended without one: a possible truncation),
   * `'unknown'` (on the native fast path, which cannot tell the two apart),
   * or `undefined` while it has not ended.
   */
  readonly peerClose: 'close_notify' | 'transport' | 'unknown' | undefined;
  /**
   * `'native'` when the engine drives the socket itself (the fast path,
   * taken on a bare TCP/Unix socket), `'stream'`
   * when the layer moves the TLS records itself.
   */
  readonly path: 'native' | 'stream';
}

/** What the filter decided about a session, with the engine's facts: a {@link SecureInfo} made cheaply. */
export interface SessionVerdict {
  readonly protocol: string;
  readonly cipher: string;
  readonly alpn: string | null;
  readonly resumed: boolean;
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  /** Why not authorized, as `tls.TLSSocket#authorizationError` names it (`'CERT_HAS_EXPIRED'`), or null. */
  readonly reason: string | null;
  /** The peer's certificate, parsed or as DER; parsed and described only when asked for. */
  readonly peer: ParsedCertificate | Buffer | null;
}

// Protocol and cipher names: a handful of values, which Node makes afresh
// for every session (40 B each); one copy of each is kept for all sessions.
const names = new Map<string, string>();
function interned(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  if (names.size < 64) names.set(name, name);
  return name;
}

/**
 * A session's {@link SecureInfo}. An idle connection keeps one for as long
 * as it lives, so the certificate is described (subject, dates,
 * fingerprint, a copy of the DER) only when `peerCertificate` is first read.
 */
export class SessionInfo implements SecureInfo {
  readonly protocol: string;
  readonly cipher: string;
  readonly alpn: string | null;
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly resumed: boolean;
  /** @internal For `conn.authorizationError`: why not authorized, in TLSSocket's words. */
  readonly reason: string | null;
  // The certificate as the engine gave it (DER, or parsed), until parsed.
  #x509: ParsedCertificate | Buffer | null;
  // The description, once made (null: no certificate was sent).
  #peer: PeerCertificate | null | undefined;

  constructor(verdict: SessionVerdict) {
    this.protocol = interned(verdict.protocol);
    this.cipher = interned(verdict.cipher);
    this.alpn = verdict.alpn;
    this.authorized = verdict.authorized;
    this.authorizationError = verdict.authorizationError;
    this.resumed = verdict.resumed;
    this.reason = verdict.reason;
    this.#x509 = verdict.peer;
  }

  /** @internal For `conn.getPeerCertificate()`: the certificate, parsed (when first asked for). */
  get peerX509(): ParsedCertificate | null {
    const peer = this.#x509;
    if (Buffer.isBuffer(peer)) this.#x509 = parseCertificate(peer);
    return this.#x509 as ParsedCertificate | null;
  }

  get peerCertificate(): PeerCertificate | null {
    if (this.#peer === undefined) this.#peer = this.peerX509 && describeCertificate(this.peerX509);
    return this.#peer;
  }

  /** For `JSON.stringify`: every field, the certificate included. */
  toJSON(): SecureInfo {
    const { protocol, cipher, alpn, peerCertificate, authorized, authorizationError, resumed } = this;
    return { protocol, cipher, alpn, peerCertificate, authorized, authorizationError, resumed };
  }
}

// Parsing and checking certificates is Node's X509Certificate here and
// JavaScript (node-forge) in the browser build: x509.ts and its twin.
export { certificateMatchesHost, describeCertificate, legacyCertificate, parseCertificate } from './x509.js';

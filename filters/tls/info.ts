/**
 * What the application learns about a TLS session once the handshake is
 * done (`await conn.secured`, the `'secure'` event, `conn.tls`).
 */

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

// Parsing and checking certificates is Node's X509Certificate here and
// JavaScript (node-forge) in the browser build: x509.ts and its twin.
export { certificateMatchesHost, describeCertificate, parseCertificate } from './x509.js';

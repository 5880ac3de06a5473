/**
 * The TLS filter's default profile: Mozilla's "intermediate" configuration
 * (https://wiki.mozilla.org/Security/Server_Side_TLS), without its DHE
 * suites. Node's own defaults let a TLS 1.2 peer pick CBC suites and suites
 * without forward secrecy, and accept client-initiated renegotiation; a
 * library that promises safe defaults sets its own. The node engine uses
 * these wherever the filter's options leave `ciphers` or `secureOptions`
 * out; the forge engine cannot speak any of it (see forge-engine.ts).
 */
import type { TlsVersion } from './engine.js';

// OpenSSL's option flags, as Node's `crypto.constants` has them (spelled out
// so that the browser build, which has no node:crypto, keeps `tls.defaults`;
// test/tls-profile.test.ts checks them against Node's).
const SSL_OP_NO_RENEGOTIATION = 0x40000000;
const SSL_OP_CIPHER_SERVER_PREFERENCE = 0x00400000;

/** What the TLS filter uses when its options do not say otherwise. */
export interface TlsDefaults {
  /** Lowest protocol accepted: TLS 1.2 (so TLS 1.2 and 1.3). */
  readonly minVersion: TlsVersion;
  /**
   * OpenSSL cipher list (node engine): the three TLS 1.3 suites, then for
   * TLS 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM,
   * ChaCha20-Poly1305). A `ciphers` option replaces it whole.
   */
  readonly ciphers: string;
  /**
   * OpenSSL option flags (node engine): `SSL_OP_NO_RENEGOTIATION` (no
   * renegotiation, either way: client-initiated renegotiation is a cheap
   * way to make a server work) and `SSL_OP_CIPHER_SERVER_PREFERENCE` (a
   * server picks the suite by its own order, not the client's). A
   * `secureOptions` option replaces them: OR them in to keep them.
   */
  readonly secureOptions: number;
}

/**
 * The defaults, for reading and for loosening one part explicitly:
 * `secureOptions: tls.defaults.secureOptions | constants.SSL_OP_LEGACY_SERVER_CONNECT`.
 */
export const defaults: TlsDefaults = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [
    // TLS 1.3, in Node's order. Node lowers the maximum to TLS 1.2 when a
    // cipher list names no TLS 1.3 suite, so they are named here.
    'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
    // TLS 1.2, in Mozilla's order.
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  secureOptions: SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE,
});

/**
 * Maps what TLS implementations report (OpenSSL error codes, X.509 verify
 * codes, received alerts) to wirestack's stable `ERR_WIRESTACK_TLS_*` codes.
 * Engines use these helpers so that one failure has one code whatever the
 * engine.
 */
import { WirestackError, isTransportCode, isWirestackError, type ErrorCode } from '../../lib/errors.js';

// X.509 verification results (OpenSSL's X509_V_ERR_* names, as Node reports
// them in `err.code`, and as verify.ts names its own findings), by the code
// each becomes. Node names the results it has no constant for (name
// constraints, critical extensions, weak digests, key usage) 'UNSPECIFIED';
// those are all ERR_WIRESTACK_TLS_CERT_INVALID, so both engines agree.
const VERIFY_CODES: ReadonlyMap<string, ErrorCode> = new Map(Object.entries({
  // The chain does not lead to a trusted CA.
  UNABLE_TO_GET_ISSUER_CERT: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  CERT_UNTRUSTED: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  INVALID_CA: 'ERR_WIRESTACK_TLS_UNKNOWN_CA',
  // Dates.
  CERT_HAS_EXPIRED: 'ERR_WIRESTACK_TLS_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'ERR_WIRESTACK_TLS_CERT_NOT_YET_VALID',
  // The host name (checked by the filter, or reported so by Node).
  ERR_TLS_CERT_ALTNAME_INVALID: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH',
  HOSTNAME_MISMATCH: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH',
  // A path that leads to a trusted CA but breaks a rule on the way.
  INVALID_PURPOSE: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  PATH_LENGTH_EXCEEDED: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  KEYUSAGE_NO_CERTSIGN: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  UNHANDLED_CRITICAL_EXTENSION: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  INVALID_EXTENSION: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  CA_MD_TOO_WEAK: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  PERMITTED_VIOLATION: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  EXCLUDED_VIOLATION: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  SUBTREE_MINMAX: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  UNSUPPORTED_CONSTRAINT_TYPE: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  UNSUPPORTED_NAME_SYNTAX: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  CERT_CHAIN_TOO_LONG: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  CERT_SIGNATURE_FAILURE: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  CERT_REVOKED: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  NO_PEER_CERTIFICATE: 'ERR_WIRESTACK_TLS_CERT_INVALID',
  UNSPECIFIED: 'ERR_WIRESTACK_TLS_CERT_INVALID',
} satisfies Record<string, ErrorCode>));

/**
 * The code for a certificate verification failure named by an OpenSSL
 * X.509 verify code (`'CERT_HAS_EXPIRED'`, `'DEPTH_ZERO_SELF_SIGNED_CERT'`,
 * …); a name not known here is `ERR_WIRESTACK_TLS_CERT_INVALID`.
 */
export function verifyCodeToErrorCode(verifyCode: string): ErrorCode {
  return VERIFY_CODES.get(verifyCode) ?? 'ERR_WIRESTACK_TLS_CERT_INVALID';
}

/** A coded error for a certificate that failed verification. */
export function verifyError(verifyCode: string, message: string, cause?: unknown): WirestackError {
  return new WirestackError(verifyCodeToErrorCode(verifyCode), `tls: ${message} (${verifyCode})`,
    { layer: 'tls', cause });
}

// OpenSSL names a received alert in the error reason: "sslv3 alert handshake
// failure", "tlsv1 alert unknown ca", "tlsv13 alert certificate required";
// Node turns the reason into the code ERR_SSL_TLSV1_ALERT_UNKNOWN_CA.
const ALERT_CODE = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;
// A few alerts OpenSSL reports under their own reason names.
const NAMED_ALERTS: Readonly<Record<string, string>> = {
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: 'unrecognized_name',
};

/** The name of the alert an OpenSSL/Node error code says was received (`'unknown_ca'`), if any. */
export function alertNameOf(code: string): string | undefined {
  const match = ALERT_CODE.exec(code);
  if (match) return match[1]!.toLowerCase();
  return NAMED_ALERTS[code];
}

/** A coded error for a fatal alert received from the peer. */
export function alertError(alert: string, cause?: unknown): WirestackError {
  return new WirestackError('ERR_WIRESTACK_TLS_ALERT', `tls: the peer sent a fatal "${alert}" alert`,
    { layer: 'tls', alert, cause });
}

// OpenSSL reasons that mean "we cannot agree", i.e. a failed handshake.
const UNSUPPORTED_OPTION = /^ERR_(?:OSSL_EVP_UNSUPPORTED|SSL_NO_CIPHER_MATCH|INVALID_ARG_VALUE)$/;

/**
 * Gives any error an engine met its TLS code. `handshaking` says whether the
 * handshake was still in progress: a protocol failure then is
 * `ERR_WIRESTACK_TLS_HANDSHAKE`, afterwards `ERR_WIRESTACK_TLS`. Transport
 * errors (resets) keep their transport code.
 */
export function toTlsError(err: unknown, handshaking: boolean): WirestackError {
  if (isWirestackError(err)) return err as WirestackError;
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : '';
  const message = err instanceof Error ? err.message : String(err);
  const alert = alertNameOf(code);
  if (alert !== undefined) return alertError(alert, err);
  if (isTransportCode(code)) {
    return new WirestackError('ERR_WIRESTACK_TRANSPORT', `tls: the transport failed: ${message}`, { layer: 'tls', cause: err });
  }
  if (UNSUPPORTED_OPTION.test(code)) {
    return new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', `tls: ${message}`, { layer: 'tls', cause: err });
  }
  return new WirestackError(handshaking ? 'ERR_WIRESTACK_TLS_HANDSHAKE' : 'ERR_WIRESTACK_TLS',
    `tls: ${handshaking ? 'handshake failed: ' : ''}${message}`, { layer: 'tls', cause: err });
}

/**
 * A peer's certificate described, and checked against a host name, with
 * Node's X509Certificate (OpenSSL's own checks). The browser build takes the
 * JavaScript twin, x509.browser.ts; a test holds the two to the same answers.
 */
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { isIP } from '../../lib/ip.js';
import type { PeerCertificate } from './info.js';

/** A certificate parsed once, for the host check and the description. */
export type ParsedCertificate = X509Certificate;

/** Parses a DER certificate. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  return new X509Certificate(der);
}

/**
 * Describes a DER certificate (or one already parsed). Engines and tests
 * share it, so both engines report alike.
 */
export function describeCertificate(der: Buffer | ParsedCertificate): PeerCertificate {
  const x509 = der instanceof X509Certificate ? der : new X509Certificate(der);
  return {
    subject: x509.subject,
    issuer: x509.issuer,
    subjectAltNames: x509.subjectAltName ? x509.subjectAltName.split(', ') : [],
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
    raw: Buffer.from(x509.raw),
  };
}

/** The certificate in the shape `tls.TLSSocket#getPeerCertificate()` gives (for the connection's socket surface). */
export function legacyCertificate(parsed: ParsedCertificate): tls.PeerCertificate {
  return parsed.toLegacyObject() as tls.PeerCertificate;
}

/**
 * Whether `der` is valid for `host` (a DNS name or an IP address), by the
 * rules of RFC 6125 as OpenSSL applies them: subject alternative names
 * first, the subject's CN only when there are no DNS names.
 */
export function certificateMatchesHost(der: Buffer | ParsedCertificate, host: string): boolean {
  const x509 = der instanceof X509Certificate ? der : new X509Certificate(der);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return x509.checkIP(bare) !== undefined;
  return x509.checkHost(bare) !== undefined;
}

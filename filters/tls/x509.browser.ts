/**
 * The browser twin of x509.ts: certificates described and checked against a
 * host name in JavaScript (node-forge parses them), where there is no
 * X509Certificate. The rules are OpenSSL's as Node's `checkHost` and
 * `checkIP` apply them by default; test/x509.test.ts holds both files to the
 * same answers.
 */
import type tls from 'node:tls';
import forge from 'node-forge';
import { isIP } from '../../lib/ip.js';
import type { PeerCertificate } from './info.js';

/** A certificate parsed once, for the host check and the description. */
export interface ParsedCertificate {
  readonly der: Buffer;
  readonly cert: forge.pki.Certificate;
}

// Subject alternative name types (RFC 5280): dNSName, iPAddress.
const DNS_NAME = 2;
const IP_ADDRESS = 7;

// forge has this; its types do not say so.
interface ForgeIp {
  bytesFromIP(ip: string): string | null;
}

interface AltName {
  type: number;
  value: string;
}

/** Parses a DER certificate. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  return { der, cert: forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('latin1'))) };
}

/** Describes a DER certificate (or one already parsed), as x509.ts does. */
export function describeCertificate(der: Buffer | ParsedCertificate): PeerCertificate {
  const { der: raw, cert } = Buffer.isBuffer(der) ? parseCertificate(der) : der;
  const digest = forge.md.sha256.create().update(raw.toString('latin1')).digest().toHex().toUpperCase();
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    subjectAltNames: altNames(cert).flatMap((name) => {
      if (name.type === DNS_NAME) return [`DNS:${name.value}`];
      if (name.type === IP_ADDRESS) return [`IP Address:${formatIp(name.value)}`];
      return [];
    }),
    validFrom: cert.validity.notBefore,
    validTo: cert.validity.notAfter,
    fingerprint256: digest.match(/../g)!.join(':'),
    raw: Buffer.from(raw),
  };
}

/**
 * The certificate in the shape `tls.TLSSocket#getPeerCertificate()` gives,
 * as far as it is known here: names, validity, fingerprint, the DER.
 */
export function legacyCertificate(parsed: ParsedCertificate): tls.PeerCertificate {
  const described = describeCertificate(parsed);
  const names = (dn: string): Record<string, string> => Object.fromEntries(dn.split('\n').map((line) => line.split('=', 2) as [string, string]));
  return {
    subject: names(described.subject),
    issuer: names(described.issuer),
    subjectaltname: described.subjectAltNames.join(', '),
    valid_from: described.validFrom.toUTCString(),
    valid_to: described.validTo.toUTCString(),
    fingerprint256: described.fingerprint256,
    raw: described.raw,
  } as unknown as tls.PeerCertificate;
}

/**
 * Whether `der` is valid for `host` (a DNS name or an IP address), by the
 * rules of RFC 6125 as OpenSSL applies them: subject alternative names
 * first, the subject's CN only when there are no DNS names.
 */
export function certificateMatchesHost(der: Buffer | ParsedCertificate, host: string): boolean {
  const { cert } = Buffer.isBuffer(der) ? parseCertificate(der) : der;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const names = altNames(cert);
  if (isIP(bare) !== 0) {
    // Compared as bytes, so that every spelling of one IPv6 address matches.
    const wanted = (forge.util as unknown as ForgeIp).bytesFromIP(bare.replace(/%.*$/, ''));
    return wanted !== null && names.some((name) => name.type === IP_ADDRESS && name.value === wanted);
  }
  const dnsNames = names.filter((name) => name.type === DNS_NAME).map((name) => name.value);
  if (dnsNames.length > 0) return dnsNames.some((pattern) => hostMatches(pattern, bare));
  // No DNS names: the subject's common names are considered instead.
  return cert.subject.attributes.some((attr) => attr.shortName === 'CN' && typeof attr.value === 'string' && hostMatches(attr.value, bare));
}

/**
 * One name from a certificate against a host name, case-insensitively. A
 * `*` may stand for part or all of the leftmost label only (never a dot),
 * with at least two labels after it; an A-label (`xn--`) is not matched by
 * a partial wildcard.
 */
function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (!p.includes('*')) return p === h;
  const [first, ...rest] = p.split('.');
  const hostLabels = h.split('.');
  if (first === undefined || rest.length < 2 || rest.join('.').includes('*')) return false;
  if (hostLabels.length !== rest.length + 1 || hostLabels.slice(1).join('.') !== rest.join('.')) return false;
  const star = first.indexOf('*');
  if (star !== first.lastIndexOf('*')) return false;
  const prefix = first.slice(0, star);
  const suffix = first.slice(star + 1);
  const label = hostLabels[0]!;
  if (label.length === 0 || label.length < prefix.length + suffix.length) return false;
  if ((prefix !== '' || suffix !== '') && label.startsWith('xn--')) return false;
  return label.startsWith(prefix) && label.endsWith(suffix);
}

function altNames(cert: forge.pki.Certificate): AltName[] {
  const extension = cert.getExtension('subjectAltName') as { altNames?: AltName[] } | null;
  return extension?.altNames ?? [];
}

// OpenSSL's one `key=value` per line, in the certificate's order.
function distinguishedName(name: forge.pki.Certificate['subject']): string {
  return name.attributes.map((attr) => `${attr.shortName ?? attr.name ?? attr.type}=${String(attr.value)}`).join('\n');
}

// An address from a certificate's bytes, as OpenSSL prints it: IPv6 as eight
// upper-case groups without leading zeros, never shortened.
function formatIp(bytes: string): string {
  if (bytes.length === 4) return Array.from(bytes, (c) => c.charCodeAt(0)).join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    groups.push(((bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1)).toString(16).toUpperCase());
  }
  return groups.join(':');
}

/**
 * What the command says about a TLS session: one line (version, cipher,
 * ALPN, the peer's name, whether it was verified, whether it was resumed),
 * and with `--showcerts` the peer's certificate as `openssl s_client` shows it.
 */
import { X509Certificate } from 'node:crypto';
import type { SecureInfo } from '../lib/index.js';

/** One line about a session, as a client sees it. */
export function describeSession(info: SecureInfo): string {
  const parts = [info.protocol, info.cipher];
  if (info.alpn) parts.push(`ALPN ${info.alpn}`);
  if (info.resumed) parts.push('resumed');
  if (info.peerCertificate) parts.push(info.peerCertificate.subject.replace(/\n/g, ', '));
  parts.push(info.authorized ? 'verified' : `NOT verified (${info.authorizationError ?? 'no certificate'})`);
  return parts.join(', ');
}

/** One line about a session, as a server sees it; `askedForCert` with --verify or --require-client-cert. */
export function describeServerSession(info: SecureInfo, askedForCert: boolean): string {
  const parts = [info.protocol, info.cipher];
  if (info.alpn) parts.push(`ALPN ${info.alpn}`);
  if (info.resumed) parts.push('resumed');
  if (askedForCert) {
    parts.push(info.peerCertificate
      ? `client ${info.peerCertificate.subject.replace(/\n/g, ', ')}, ${info.authorized ? 'verified' : 'NOT verified'}`
      : 'no client certificate');
  }
  return parts.join(', ');
}

/**
 * The peer's certificate: a line with its subject and issuer (`s:` and
 * `i:`, as s_client prints them), its validity and fingerprint, then PEM.
 */
export function certificateText(info: SecureInfo): string {
  const peer = info.peerCertificate;
  if (!peer) return `no certificate${info.resumed ? ' (a resumed session keeps none)' : ''}\n`;
  const oneLine = (name: string): string => name.replace(/\n/g, ', ');
  return `certificate 0 s:${oneLine(peer.subject)} i:${oneLine(peer.issuer)}\n`
    + `  valid ${peer.validFrom.toISOString()} to ${peer.validTo.toISOString()}, SHA-256 ${peer.fingerprint256}\n`
    + new X509Certificate(peer.raw).toString();
}

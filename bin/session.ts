/**
 * What the command says about a TLS session: one line (version, cipher,
 * ALPN, the peer's name, whether it was verified, whether it was resumed),
 * and with `--showcerts` the peer's certificate as `openssl s_client` shows it.
 */
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
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
 * The peer's certificate chain, as `openssl s_client -showcerts` lists it:
 * for each certificate, a line with its subject and issuer (`s:` and `i:`),
 * its validity and fingerprint, then PEM. The whole chain where the engine
 * gives one (`conn.getPeerCertificate(true)`, the node engine); else the
 * leaf the session's facts hold (forge).
 */
export function certificateText(info: SecureInfo, detailed?: DetailedPeerCertificate | Record<string, never>): string {
  const chain = chainOf(detailed);
  if (chain.length > 0) {
    return chain.map((cert, i) => entry(i, dn(cert.subject), dn(cert.issuer),
      new Date(cert.valid_from), new Date(cert.valid_to), cert.fingerprint256, cert.raw)).join('');
  }
  const peer = info.peerCertificate;
  if (!peer) return `no certificate${info.resumed ? ' (a resumed session keeps none)' : ''}\n`;
  const oneLine = (name: string): string => name.replace(/\n/g, ', ');
  return entry(0, oneLine(peer.subject), oneLine(peer.issuer), peer.validFrom, peer.validTo, peer.fingerprint256, peer.raw);
}

function entry(depth: number, subject: string, issuer: string, from: Date, to: Date, fingerprint: string, raw: Buffer): string {
  return `certificate ${depth} s:${subject} i:${issuer}\n`
    + `  valid ${from.toISOString()} to ${to.toISOString()}, SHA-256 ${fingerprint}\n`
    + new X509Certificate(raw).toString();
}

// The chain from the leaf up, each certificate once (a root names itself as its issuer).
function chainOf(detailed: DetailedPeerCertificate | Record<string, never> | undefined): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  for (let cert = detailed as DetailedPeerCertificate | undefined; cert?.raw; cert = cert.issuerCertificate) {
    if (chain.some((seen) => seen.raw.equals(cert!.raw))) break;
    chain.push(cert);
  }
  return chain;
}

// A distinguished name in getPeerCertificate()'s shape, on one line as s_client prints it.
function dn(name: Record<string, string | string[] | undefined>): string {
  return Object.entries(name).filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`).join(', ');
}

/**
 * Certificate chain verification for the forge engine. node-forge checks
 * little by itself, so the engine judges the peer's chain here: it must
 * lead to one of the given CAs, every certificate on the path must be
 * within its validity and every issuer a CA, and the leaf must be meant for
 * its role. Failures are reported with OpenSSL's verify code names through
 * `verifyError`, so both engines give the same `ERR_WIRESTACK_TLS_*` code.
 * The host name is not checked here: the filter checks it for every engine.
 */
import forge from 'node-forge';
import { WirestackError } from '../../lib/errors.js';
import type { Pem } from './engine.js';
import { verifyError } from './errors.js';

/** What the peer's leaf certificate must be for: a server's or a client's. */
export type CertificatePurpose = 'serverAuth' | 'clientAuth';

// A chain longer than this is refused (OpenSSL's default depth is 100; real chains are 2–4).
const MAX_DEPTH = 10;

/** The certificates in PEM text (one or many blocks, or a list of them), parsed by forge. */
export function parseCertificates(pems: Pem | readonly Pem[] | undefined, what: string): forge.pki.Certificate[] {
  return splitPem(pems, 'CERTIFICATE').map((pem, i) => {
    try {
      return forge.pki.certificateFromPem(pem);
    } catch (err) {
      throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED',
        `tls: the forge engine cannot read ${what} #${i + 1} (it reads RSA certificates only): ${(err as Error).message}`,
        { layer: 'tls', cause: err });
    }
  });
}

/** Each PEM block of the given kind (`'CERTIFICATE'`) as its own PEM string. */
export function splitPem(pems: Pem | readonly Pem[] | undefined, kind: string): string[] {
  if (pems === undefined) return [];
  const list = Array.isArray(pems) ? (pems as readonly Pem[]) : [pems as Pem];
  const blocks: string[] = [];
  for (const pem of list) {
    const text = typeof pem === 'string' ? pem : pem.toString('latin1');
    const re = new RegExp(`-----BEGIN ${kind}-----[\\s\\S]*?-----END ${kind}-----`, 'g');
    for (const match of text.matchAll(re)) blocks.push(match[0]);
  }
  return blocks;
}

/**
 * Verifies `chain` (the peer's certificates, leaf first, as sent) against
 * the trusted `anchors` at time `now`. Returns `null` when a path from the
 * leaf to an anchor exists and holds, else the coded reason.
 */
export function verifyChain(chain: readonly forge.pki.Certificate[], anchors: readonly forge.pki.Certificate[],
  purpose: CertificatePurpose, now: Date = new Date()): WirestackError | null {
  const leaf = chain[0];
  if (!leaf) return verifyError('NO_PEER_CERTIFICATE', 'the peer sent no certificate');
  const path = [leaf];
  let current = leaf;
  let anchor: forge.pki.Certificate | undefined = anchors.find((a) => sameCertificate(a, leaf));
  // Build the path upwards: an anchor that signed the current certificate
  // ends it; otherwise a certificate the peer sent that did.
  while (!anchor) {
    anchor = anchors.find((a) => signed(a, current));
    if (anchor) break;
    const next = chain.find((c) => !path.includes(c) && signed(c, current));
    if (!next) {
      if (signed(current, current)) {
        return verifyError(current === leaf ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'SELF_SIGNED_CERT_IN_CHAIN',
          'the peer\'s certificate chain ends in a self-signed certificate that is not trusted');
      }
      return verifyError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
        anchors.length === 0
          ? 'no CA was given to verify the peer\'s certificate against (the forge engine has no built-in roots)'
          : 'the peer\'s certificate was not issued by a trusted CA');
    }
    if (path.length >= MAX_DEPTH) return verifyError('CERT_CHAIN_TOO_LONG', 'the peer\'s certificate chain is too long');
    path.push(next);
    current = next;
  }
  // The anchor's own validity counts too, unless it is the leaf itself (a trusted self-signed certificate).
  const trusted = anchor;
  if (!path.some((c) => sameCertificate(c, trusted))) path.push(trusted);
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    if (now < cert.validity.notBefore) {
      return verifyError('CERT_NOT_YET_VALID', `certificate "${commonName(cert)}" is not valid before ${cert.validity.notBefore.toISOString()}`);
    }
    if (now > cert.validity.notAfter) {
      return verifyError('CERT_HAS_EXPIRED', `certificate "${commonName(cert)}" expired at ${cert.validity.notAfter.toISOString()}`);
    }
    // OpenSSL's TLS purpose check reports an issuer that is no CA as INVALID_PURPOSE; so do we, for one code.
    if (i > 0 && !isCa(cert)) return verifyError('INVALID_PURPOSE', `certificate "${commonName(cert)}" signs others but is not a CA`);
  }
  if (!hasPurpose(leaf, purpose)) {
    return verifyError('INVALID_PURPOSE', `the peer's certificate is not meant for ${purpose === 'serverAuth' ? 'a TLS server' : 'a TLS client'}`);
  }
  return null;
}

// Whether `issuer`'s subject is `cert`'s issuer and its key made `cert`'s signature.
function signed(issuer: forge.pki.Certificate, cert: forge.pki.Certificate): boolean {
  try {
    return issuer.issued(cert) && issuer.verify(cert);
  } catch {
    // An unknown signature algorithm or key type: not a signature we can accept.
    return false;
  }
}

function sameCertificate(a: forge.pki.Certificate, b: forge.pki.Certificate): boolean {
  return a.signature === b.signature && a.serialNumber === b.serialNumber;
}

// An issuer must say it is a CA; a version 1 certificate (no extensions) is
// accepted as OpenSSL does for trust anchors and old intermediates.
function isCa(cert: forge.pki.Certificate): boolean {
  if (cert.extensions.length === 0) return true;
  // forge's getExtension gives null (not undefined) for an absent extension.
  const constraints = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (!constraints?.cA) return false;
  const usage = cert.getExtension('keyUsage') as { keyCertSign?: boolean } | null;
  return !usage || usage.keyCertSign === true;
}

// A leaf that names its extended key usages must name this one (or any).
function hasPurpose(cert: forge.pki.Certificate, purpose: CertificatePurpose): boolean {
  const usage = cert.getExtension('extKeyUsage') as Record<string, unknown> | null;
  if (!usage) return true;
  return usage[purpose] === true || usage['2.5.29.37.0'] === true;
}

function commonName(cert: forge.pki.Certificate): string {
  const cn = cert.subject.getField('CN') as { value?: string } | null;
  return cn?.value ?? cert.subject.attributes.map((a) => `${a.shortName ?? a.name}=${String(a.value)}`).join(', ');
}

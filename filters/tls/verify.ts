/**
 * Certificate path validation for the forge engine. node-forge checks
 * little by itself, so the engine judges the peer's chain here, the way
 * OpenSSL 3 does for TLS at Node's default security level, so that both
 * engines give the same verdict and the same `ERR_WIRESTACK_TLS_*` code:
 * a path from the leaf to a trusted self-signed CA; on every certificate of
 * it, critical extensions, CA status, purpose (key usage and extended key
 * usage) and path length (`certificate-checks.ts`); signatures too weak to
 * rely on below the trust anchor; validity dates; and the name constraints
 * of every CA (`name-constraints.ts`). Failures carry OpenSSL's verify code
 * names through `verifyError`. The host name is not checked here: the
 * filter checks it for every engine.
 */
import forge from 'node-forge';
import { WirestackError } from '../../lib/errors.js';
import { allowsCertSign, allowsPurpose, caStatus, pathLenConstraint, selfIssued, unhandledCriticalExtension, weakSignature,
  type CertificatePurpose } from './certificate-checks.js';
import type { Pem } from './engine.js';
import { verifyError } from './errors.js';
import { checkNameConstraints, nameConstraintsOf } from './name-constraints.js';

export type { CertificatePurpose } from './certificate-checks.js';

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
 *
 * OpenSSL does not stop at the first failure when, as in Node, its verify
 * callback lets it go on: each failure replaces the one before and the
 * last is the verdict. The checks run here in OpenSSL's order and the last
 * failure wins too, so a certificate with two faults (self-signed and
 * expired) gets the same code from both engines.
 */
export function verifyChain(chain: readonly forge.pki.Certificate[], anchors: readonly forge.pki.Certificate[],
  purpose: CertificatePurpose, now: Date = new Date()): WirestackError | null {
  if (chain.length === 0) return verifyError('NO_PEER_CERTIFICATE', 'the peer sent no certificate');
  let verdict: WirestackError | null = null;
  const fail: Fail = (verifyCode, message) => {
    verdict = verifyError(verifyCode, message);
  };
  const path = buildPath(chain, anchors, fail);
  checkExtensions(path, purpose, fail);
  checkSignatureStrength(path, fail);
  checkIssuersAndDates(path, now, fail);
  checkAllNameConstraints(path, fail);
  return verdict;
}

type Fail = (verifyCode: string, message: string) => void;

// The path upwards from the leaf: trusted issuers first, then the
// certificates the peer sent; above a trusted certificate only trusted ones.
// It ends at a self-issued certificate (a root) or where no issuer is
// found, and holds only if it ends at a trusted root: like Node, a trusted
// intermediate without its root is not enough.
function buildPath(chain: readonly forge.pki.Certificate[], anchors: readonly forge.pki.Certificate[], fail: Fail): forge.pki.Certificate[] {
  const path = [chain[0]!];
  let trustedSoFar = isAnchor(chain[0]!, anchors);
  for (;;) {
    const current = path[path.length - 1]!;
    if (selfIssued(current)) break;
    const anchor = anchors.find((a) => !path.includes(a) && signed(a, current));
    const next = anchor ?? (trustedSoFar ? undefined : chain.find((c) => !path.includes(c) && signed(c, current)));
    if (!next) break;
    if (path.length >= MAX_DEPTH) {
      fail('CERT_CHAIN_TOO_LONG', 'the peer\'s certificate chain is too long');
      return path;
    }
    path.push(next);
    trustedSoFar ||= anchor !== undefined;
  }
  const top = path[path.length - 1]!;
  if (selfIssued(top) && isAnchor(top, anchors)) return path;
  if (selfIssued(top)) {
    fail(path.length === 1 ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'SELF_SIGNED_CERT_IN_CHAIN',
      'the peer\'s certificate chain ends in a self-signed certificate that is not trusted');
  } else if (trustedSoFar) {
    fail('UNABLE_TO_GET_ISSUER_CERT', `the issuer of the trusted certificate "${commonName(top)}" is not among the trusted CAs`);
  } else {
    fail('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', anchors.length === 0
      ? 'no CA was given to verify the peer\'s certificate against (the forge engine has no built-in roots)'
      : 'the peer\'s certificate was not issued by a trusted CA');
  }
  return path;
}

// Each certificate, leaf first: no critical extension we do not
// understand; issuers are CAs; each may serve the purpose (the leaf for TLS,
// the rest as its issuers); and no CA has more CAs below it than its path
// length allows (self-issued ones do not count).
function checkExtensions(path: readonly forge.pki.Certificate[], purpose: CertificatePurpose, fail: Fail): void {
  let intermediatesBelow = 0;
  path.forEach((cert, depth) => {
    const critical = unhandledCriticalExtension(cert);
    if (critical !== undefined) {
      fail('UNHANDLED_CRITICAL_EXTENSION', `certificate "${commonName(cert)}" has a critical extension (${critical}) that is not understood`);
    }
    if (depth > 0) {
      const status = caStatus(cert);
      // Only the top may be a CA by tolerance (a version 1 root); one in between must say so.
      if (status === 'not-ca' || (depth < path.length - 1 && status !== 'ca')) {
        fail('INVALID_CA', `certificate "${commonName(cert)}" signs others but is not a CA`);
      }
    }
    if (!allowsPurpose(cert, purpose, depth > 0)) {
      const role = purpose === 'serverAuth' ? 'a TLS server' : 'a TLS client';
      fail('INVALID_PURPOSE', depth === 0
        ? `the peer's certificate is not meant for ${role} (key usage or extended key usage)`
        : `certificate "${commonName(cert)}" may not issue certificates for ${role}`);
    }
    const limit = pathLenConstraint(cert);
    if (depth > 1 && limit !== undefined && intermediatesBelow > limit) {
      fail('PATH_LENGTH_EXCEEDED',
        `certificate "${commonName(cert)}" allows ${limit} CA${limit === 1 ? '' : 's'} below it, the path has ${intermediatesBelow}`);
    }
    if (depth > 0 && !selfIssued(cert)) intermediatesBelow++;
  });
}

// MD5 and SHA-1 signatures are refused on every certificate but the top:
// the trust anchor's own signature is never relied on (RFC 5280, and OpenSSL).
function checkSignatureStrength(path: readonly forge.pki.Certificate[], fail: Fail): void {
  path.slice(0, -1).forEach((cert) => {
    const digest = weakSignature(cert);
    if (digest !== undefined) fail('CA_MD_TOO_WEAK', `certificate "${commonName(cert)}" is signed with ${digest}, too weak to rely on`);
  });
}

// From the top down, as OpenSSL's internal_verify: each issuer's key usage
// must allow signing certificates, and each certificate must be within its
// validity. A top that is not self-issued has no known issuer; OpenSSL then
// starts below it (or, for a lone leaf, says it cannot check its signature).
// Signatures themselves were checked while the path was built.
function checkIssuersAndDates(path: readonly forge.pki.Certificate[], now: Date, fail: Fail): void {
  let from = path.length - 1;
  if (!selfIssued(path[from]!)) {
    if (from === 0) fail('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'the peer\'s certificate was not issued by a trusted CA');
    else from--;
  }
  for (let depth = from; depth >= 0; depth--) {
    const cert = path[depth]!;
    const issuer = path[depth + 1];
    if (issuer && !allowsCertSign(issuer)) {
      fail('KEYUSAGE_NO_CERTSIGN', `certificate "${commonName(issuer)}" signs others, but its key usage does not allow it`);
    }
    if (now < cert.validity.notBefore) {
      fail('CERT_NOT_YET_VALID', `certificate "${commonName(cert)}" is not valid before ${cert.validity.notBefore.toISOString()}`);
    } else if (now > cert.validity.notAfter) {
      fail('CERT_HAS_EXPIRED', `certificate "${commonName(cert)}" expired at ${cert.validity.notAfter.toISOString()}`);
    }
  }
}

// Every CA's name constraints bound every certificate below it, self-issued
// intermediates excepted (RFC 5280); the trust anchor's count too.
function checkAllNameConstraints(path: readonly forge.pki.Certificate[], fail: Fail): void {
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const cert = path[depth]!;
    if (depth > 0 && selfIssued(cert)) continue;
    for (const ca of path.slice(depth + 1).reverse()) {
      const constraints = nameConstraintsOf(ca);
      if (constraints === null) continue;
      const failure = constraints === 'INVALID_EXTENSION' ? constraints : checkNameConstraints(cert, constraints, depth === 0);
      if (failure !== null) fail(failure, `certificate "${commonName(cert)}" has a name that "${commonName(ca)}" may not certify`);
    }
  }
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

function isAnchor(cert: forge.pki.Certificate, anchors: readonly forge.pki.Certificate[]): boolean {
  return anchors.some((a) => sameCertificate(a, cert));
}

function commonName(cert: forge.pki.Certificate): string {
  const cn = cert.subject.getField('CN') as { value?: string } | null;
  return cn?.value ?? cert.subject.attributes.map((a) => `${a.shortName ?? a.name}=${String(a.value)}`).join(', ');
}

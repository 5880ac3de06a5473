/**
 * What one certificate allows, judged as OpenSSL 3 judges it (its
 * `crypto/x509/v3_purp.c`), so that the forge engine and the node engine
 * agree: whether it is a CA, whether it may serve a TLS server or client,
 * whether it carries a critical extension nobody here understands, and
 * whether its signature is too weak to rely on. `verify.ts` applies these
 * to every certificate of a path.
 */
import type forge from 'node-forge';

/** What the peer's leaf certificate must be for: a server's or a client's. */
export type CertificatePurpose = 'serverAuth' | 'clientAuth';

// Extensions OpenSSL understands and so accepts as critical (its
// X509_supported_extension list). Proxy certificate info is left out on
// purpose: OpenSSL refuses proxy certificates in TLS anyway, so a critical
// one fails either way.
const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.16.840.1.113730.1.1', // nsCertType
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies
  '2.5.29.37', // extKeyUsage
  '1.3.6.1.5.5.7.1.7', // IP address delegation (RFC 3779)
  '1.3.6.1.5.5.7.1.8', // AS identifier delegation (RFC 3779)
  '2.5.29.36', // policyConstraints
  '2.5.29.30', // nameConstraints
  '2.5.29.33', // policyMappings
  '2.5.29.54', // inhibitAnyPolicy
]);

// Extended key usages that let a certificate serve each purpose. For a
// server OpenSSL also takes the old "server gated crypto" usages; it does
// NOT take anyExtendedKeyUsage (2.5.29.37.0) for either.
const PURPOSE_USAGES: Readonly<Record<CertificatePurpose, readonly string[]>> = {
  serverAuth: ['serverAuth', '2.16.840.1.113730.4.1', '1.3.6.1.4.1.311.10.3.3'],
  clientAuth: ['clientAuth'],
};

// Signature algorithms whose digest is below OpenSSL's security level 1
// (80 bits; it rates MD5 at 39 and SHA-1 at 63): RSA with MD2, MD4, MD5, SHA-1.
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2',
  '1.2.840.113549.1.1.3': 'MD4',
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.3.14.3.2.29': 'SHA-1',
};
// RSASSA-PSS names its digest in its parameters.
const PSS = '1.2.840.113549.1.1.10';
const WEAK_DIGESTS: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.5': 'MD5',
  '1.3.14.3.2.26': 'SHA-1',
};

/**
 * How a certificate stands as an issuer, after OpenSSL's `check_ca`: a CA
 * by its basic constraints; not one; or, without basic constraints, only
 * tolerated (a version 1 self-signed root, a key usage that allows
 * certificate signing, a Netscape CA type).
 */
export type CaStatus = 'ca' | 'not-ca' | 'v1-root' | 'key-usage-only' | 'netscape-ca';

export function caStatus(cert: forge.pki.Certificate): CaStatus {
  if (!allowsCertSign(cert)) return 'not-ca';
  const constraints = extension<{ cA?: boolean }>(cert, 'basicConstraints');
  if (constraints) return constraints.cA ? 'ca' : 'not-ca';
  if (cert.version === 0 && selfIssued(cert)) return 'v1-root';
  if (extension(cert, 'keyUsage')) return 'key-usage-only';
  const netscape = extension<{ sslCA?: boolean; emailCA?: boolean; objCA?: boolean }>(cert, 'nsCertType');
  if (netscape && (netscape.sslCA || netscape.emailCA || netscape.objCA)) return 'netscape-ca';
  return 'not-ca';
}

/** Whether a key usage extension, if there is one, allows signing certificates. */
export function allowsCertSign(cert: forge.pki.Certificate): boolean {
  const usage = extension<{ keyCertSign?: boolean }>(cert, 'keyUsage');
  return !usage || usage.keyCertSign === true;
}

/**
 * Whether the certificate may serve `purpose`, as the leaf (`asIssuer`
 * false) or as an issuer above it: its extended key usages, if named, must
 * include the purpose (on issuers too); a leaf's key usage must allow what
 * TLS does with its key, and an issuer must be a CA.
 */
export function allowsPurpose(cert: forge.pki.Certificate, purpose: CertificatePurpose, asIssuer: boolean): boolean {
  const extendedUsage = extension<Record<string, unknown>>(cert, 'extKeyUsage');
  if (extendedUsage && !PURPOSE_USAGES[purpose].some((usage) => extendedUsage[usage] === true)) return false;
  const netscape = extension<{ server?: boolean; client?: boolean; sslCA?: boolean }>(cert, 'nsCertType');
  if (asIssuer) {
    const status = caStatus(cert);
    return status !== 'not-ca' && (status !== 'netscape-ca' || netscape?.sslCA === true);
  }
  if (netscape && !(purpose === 'serverAuth' ? netscape.server : netscape.client)) return false;
  const usage = extension<Record<string, boolean | undefined>>(cert, 'keyUsage');
  if (!usage) return true;
  // A server's key signs or decrypts the key exchange; a client's key signs.
  return purpose === 'serverAuth'
    ? usage.digitalSignature === true || usage.keyEncipherment === true || usage.keyAgreement === true
    : usage.digitalSignature === true || usage.keyAgreement === true;
}

/** The OID of the first critical extension that is not understood, if any. */
export function unhandledCriticalExtension(cert: forge.pki.Certificate): string | undefined {
  const extensions = cert.extensions as Array<{ id: string; critical?: boolean }>;
  return extensions.find((e) => e.critical === true && !UNDERSTOOD_EXTENSIONS.has(e.id))?.id;
}

/** The basic constraints' path length limit, or undefined when none is set. */
export function pathLenConstraint(cert: forge.pki.Certificate): number | undefined {
  return extension<{ pathLenConstraint?: number }>(cert, 'basicConstraints')?.pathLenConstraint;
}

/** Whether the certificate names itself as its issuer (a root, or a CA's re-keyed certificate). */
export function selfIssued(cert: forge.pki.Certificate): boolean {
  return cert.issuer.hash === cert.subject.hash;
}

/** The name of the digest that makes the certificate's signature too weak (`'SHA-1'`), if it is. */
export function weakSignature(cert: forge.pki.Certificate): string | undefined {
  const info = cert.siginfo as { algorithmOid: string; parameters?: { hash?: { algorithmOid?: string } } };
  if (info.algorithmOid === PSS) return WEAK_DIGESTS[info.parameters?.hash?.algorithmOid ?? ''];
  return WEAK_SIGNATURES[info.algorithmOid];
}

// forge's getExtension gives null (not undefined) for an absent extension.
function extension<T>(cert: forge.pki.Certificate, name: string): T | undefined {
  return (cert.getExtension(name) as T | null) ?? undefined;
}

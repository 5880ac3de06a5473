import forge from 'node-forge';
import { isIP } from '../ip.js';
import { newKeyPair } from './key-pair.js';

/** A certificate and its private key, PEM. */
export interface CertificateAndKey {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PEM (unencrypted). */
  readonly key: string;
}

/** What {@link makeCertificates} returns: a small PKI, all PEM strings. */
export interface TestCertificates {
  /** The CA that signed everything below; trust it with `ca: certs.ca.cert`. */
  readonly ca: CertificateAndKey;
  /** A server certificate for the names given (default localhost, 127.0.0.1, ::1). */
  readonly server: CertificateAndKey;
  /** A client certificate (CN=client), for mutual TLS. */
  readonly client: CertificateAndKey;
  /** Like `server`, but its validity ended yesterday. */
  readonly expired: CertificateAndKey;
  /** Like `server`, but valid only from tomorrow. */
  readonly notYetValid: CertificateAndKey;
}

/** Options for {@link makeCertificates}. */
export interface MakeCertificatesOptions {
  /** Names (DNS names or IP addresses) the server certificate is for. Default `['localhost', '127.0.0.1', '::1']`. */
  names?: readonly string[];
  /** Subject CN of the server certificate (default: the first name). */
  commonName?: string;
  /**
   * Tells PKIs apart: the same options give the same (cached) PKI, so a test
   * that needs a second, unrelated CA (a "wrong CA" case) passes another label.
   */
  label?: string;
}

const DAY = 24 * 60 * 60 * 1000;

// Key generation is the slow part (RSA 2048 in forge takes seconds); keys
// come from node's crypto where there is one (key-pair.ts), and each distinct
// request is made once per process.
const cache = new Map<string, TestCertificates>();

/**
 * Makes, in memory, a CA and the certificates tests, examples and demos
 * need: RSA 2048, SHA-256, with node-forge (so the forge engine can use
 * them too). Results are cached per process by options: calls with the same
 * options return the same PKI; give another `label` for an unrelated one.
 *
 * @example
 * ```ts
 * const certs = makeCertificates();
 * const server = tls.server({ cert: certs.server.cert, key: certs.server.key });
 * const client = tls.client({ ca: certs.ca.cert });
 * ```
 */
export function makeCertificates(options: MakeCertificatesOptions = {}): TestCertificates {
  const names = options.names ?? ['localhost', '127.0.0.1', '::1'];
  const commonName = options.commonName ?? names[0] ?? 'localhost';
  const cacheKey = JSON.stringify([names, commonName, options.label ?? '']);
  const cached = cache.get(cacheKey);
  if (cached) return cached;

  const now = Date.now();
  const caKeys = newKeyPair();
  // A distinct CA name per PKI made: two test PKIs must not be mistaken for each other.
  const caName = [{ name: 'commonName', value: `wirestack test CA ${Buffer.from(randomBytes(4)).toString('hex')}` },
    { name: 'organizationName', value: 'wirestack' }];
  const caCert = certificate({
    keys: caKeys, issuerKey: caKeys.privateKey, subject: caName, issuer: caName,
    notBefore: now - DAY, notAfter: now + 3650 * DAY,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });

  const serverKeys = newKeyPair();
  const serverExtensions = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) !== 0 ? { type: 7, ip: n } : { type: 2, value: n })) },
  ];
  const serverName = [{ name: 'commonName', value: commonName }];
  const signedByCa = (keys: forge.pki.rsa.KeyPair, subject: forge.pki.CertificateField[], from: number, to: number,
    extensions: object[]): string => certificate({ keys, issuerKey: caKeys.privateKey, subject, issuer: caName, notBefore: from, notAfter: to, extensions });

  const clientKeys = newKeyPair();
  const result: TestCertificates = {
    ca: pair(caCert, caKeys),
    server: pair(signedByCa(serverKeys, serverName, now - DAY, now + 825 * DAY, serverExtensions), serverKeys),
    client: pair(signedByCa(clientKeys, [{ name: 'commonName', value: 'client' }], now - DAY, now + 825 * DAY, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ]), clientKeys),
    expired: pair(signedByCa(serverKeys, serverName, now - 30 * DAY, now - DAY, serverExtensions), serverKeys),
    notYetValid: pair(signedByCa(serverKeys, serverName, now + DAY, now + 30 * DAY, serverExtensions), serverKeys),
  };
  cache.set(cacheKey, result);
  return result;
}

interface CertificateSpec {
  keys: forge.pki.rsa.KeyPair;
  issuerKey: forge.pki.rsa.PrivateKey;
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  notBefore: number;
  notAfter: number;
  extensions: object[];
}

function certificate(spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.keys.publicKey;
  // A positive random serial: the high bit clear keeps the DER integer unsigned.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = Buffer.from(serial).toString('hex');
  cert.validity.notBefore = new Date(spec.notBefore);
  cert.validity.notAfter = new Date(spec.notAfter);
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer);
  cert.setExtensions(spec.extensions);
  cert.sign(spec.issuerKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

function pair(cert: string, keys: forge.pki.rsa.KeyPair): CertificateAndKey {
  return { cert, key: forge.pki.privateKeyToPem(keys.privateKey) };
}

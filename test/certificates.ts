// Certificates made in tests for chains makeCertificates() does not make:
// self-signed leaves, intermediate CAs (valid or not) and certificates that
// break one rule of path validation each. RSA (forge reads no other), signed
// by node-forge; extensions forge cannot make by name are built as ASN.1.
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export const DAY = 86_400_000;

/** A certificate made by {@link issue}, with its key. */
export interface Issued { cert: forge.pki.Certificate; pem: string; key: forge.pki.rsa.PrivateKey; keyPem: string }

export interface IssueOptions {
  issuer?: Issued;
  /** A CA (basic constraints, and key usage keyCertSign) or explicitly not one; absent: a leaf for `san`. */
  ca?: boolean;
  /** Validity, in ms from now (default: from a day ago to 30 days on). */
  from?: number;
  to?: number;
  /** The leaf's DNS name (default: the subject's common name). */
  san?: string;
  /** The digest the issuer signs with (default SHA-256). */
  md?: 'md5' | 'sha1';
  /** Extensions instead of the defaults. */
  extensions?: object[];
  /** Extensions added to the defaults. */
  extra?: object[];
  /** An X.509 version 1 certificate: no extensions at all. */
  version1?: boolean;
}

// Making keys is the slow part, so certificates take theirs in turn from a
// few. Issuers are found by name (as OpenSSL does), so a key shared by
// certificates of different names changes no verdict.
const KEYS = Array.from({ length: 4 }, () => generateKeyPairSync('rsa', { modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey);
let issued = 0;

/** A certificate for `subject` (a common name, or the whole name), signed by `opts.issuer` or by itself. */
export function issue(subject: string | forge.pki.CertificateField[], opts: IssueOptions = {}): Issued {
  const keyPem = KEYS[issued++ % KEYS.length]!;
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  const name = typeof subject === 'string' ? [{ name: 'commonName', value: subject }] : subject;
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `0${Math.floor(Math.random() * 1e9).toString(16)}`;
  cert.validity.notBefore = new Date(Date.now() + (opts.from ?? -DAY));
  cert.validity.notAfter = new Date(Date.now() + (opts.to ?? 30 * DAY));
  cert.setSubject(name);
  cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : name);
  const commonName = typeof subject === 'string' ? subject : 'localhost';
  const defaults = opts.ca !== undefined
    ? [{ name: 'basicConstraints', cA: opts.ca, critical: true }, ...(opts.ca ? [{ name: 'keyUsage', keyCertSign: true, critical: true }] : [])]
    : [{ name: 'subjectAltName', altNames: [{ type: 2, value: opts.san ?? commonName }] }];
  if (opts.version1) cert.version = 0;
  else cert.setExtensions(opts.extensions ?? [...defaults, ...(opts.extra ?? [])]);
  cert.sign(opts.issuer?.key ?? key, (opts.md ? forge.md[opts.md] : forge.md.sha256).create());
  return { cert, pem: forge.pki.certificateToPem(cert), key, keyPem };
}

/** A server's `cert` (leaf first, then the CAs above it) and `key`. */
export const chain = (leaf: Issued, ...above: Issued[]) => ({ cert: [leaf.pem, ...above.map((c) => c.pem)].join(''), key: leaf.keyPem });

const { asn1 } = forge;

/** A GeneralName ([1] email, [2] DNS, [6] URI, [7] IP, [8] registered ID …) holding `bytes`. */
export const generalName = (tag: number, bytes: string) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, bytes);
export const dnsName = (name: string) => generalName(2, name);
export const emailName = (address: string) => generalName(1, address);
export const uriName = (uri: string) => generalName(6, uri);
/** An IP range: address bytes, then mask bytes (4 + 4, or 16 + 16). */
export const ipRange = (address: number[], mask: number[]) => generalName(7, String.fromCharCode(...address, ...mask));
/** A directory name ([4], explicit) for the given attributes, one RDN each. */
export function directoryName(attributes: Array<[oid: string, value: string]>): forge.asn1.Asn1 {
  const rdns = attributes.map(([oid, value]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(value)),
    ])]));
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 4, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, rdns)]);
}

/** A GeneralSubtree's bounds: `[minimum, maximum]`, each absent when undefined. */
type Bounds = [minimum?: number, maximum?: number];

/** A critical name constraints extension; a name may carry its subtree's bounds. */
export function nameConstraints(permitted: Array<forge.asn1.Asn1 | [forge.asn1.Asn1, Bounds]>,
  excluded: forge.asn1.Asn1[] = []): object {
  const subtree = (entry: forge.asn1.Asn1 | [forge.asn1.Asn1, Bounds]) => {
    const [base, [minimum, maximum]] = Array.isArray(entry) ? entry : [entry, [] as Bounds];
    const bound = (tag: number, n: number | undefined) => n === undefined ? []
      : [asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, asn1.integerToDer(n).getBytes())];
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base, ...bound(0, minimum), ...bound(1, maximum)]);
  };
  const subtrees = (tag: number, entries: Array<forge.asn1.Asn1 | [forge.asn1.Asn1, Bounds]>) =>
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, entries.map(subtree));
  const parts = [...(permitted.length > 0 ? [subtrees(0, permitted)] : []), ...(excluded.length > 0 ? [subtrees(1, excluded)] : [])];
  return { id: '2.5.29.30', critical: true, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts) };
}

/** An extension nobody knows (a private OID), critical or not. */
export const privateExtension = (critical: boolean): object =>
  ({ id: '1.3.6.1.4.1.55555.1', critical, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '') });

/** Extended key usage naming the given OIDs only (forge names only the common ones). */
export const extendedKeyUsage = (...oids: string[]): object => ({ id: '2.5.29.37', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true,
  oids.map((oid) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()))) });

/** Subject alternative names: DNS localhost, then `more` ({ type: 7, ip }, { type: 1, value }, …). */
export const localhostNames = (...more: object[]) => ({ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...more] });

// The forge engine's path validation (filters/tls/verify.ts, with
// certificate-checks.ts and name-constraints.ts) against OpenSSL itself:
// every case's chain is judged by verifyChain and by `openssl verify` (the
// same OpenSSL 3.0 as Node's, at TLS's security level 1 and for the TLS
// server or client purpose), and both must give the expected verify code.
// The handshake table (tls-verification.test.ts) shows each rule through
// both engines; this file goes into the corners of each rule, one fault per
// case (with several, `openssl verify` stops where a TLS peer goes on).
import { spawnSync } from 'node:child_process';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { verifyChain, type CertificatePurpose } from '../filters/tls/verify.js';
import { directoryName, dnsName, emailName, extendedKeyUsage, generalName, ipRange, issue, nameConstraints, privateExtension,
  uriName, type Issued } from './certificates.js';
import { pemFiles } from './openssl.js';

// OpenSSL's X509_V_ERR_* numbers (x509_vfy.h) for the codes these cases meet.
const VERIFY_CODE_NAMES: Readonly<Record<number, string>> = {
  2: 'UNABLE_TO_GET_ISSUER_CERT', 7: 'CERT_SIGNATURE_FAILURE', 9: 'CERT_NOT_YET_VALID', 10: 'CERT_HAS_EXPIRED',
  18: 'DEPTH_ZERO_SELF_SIGNED_CERT', 19: 'SELF_SIGNED_CERT_IN_CHAIN', 20: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  21: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 25: 'PATH_LENGTH_EXCEEDED', 26: 'INVALID_PURPOSE', 32: 'KEYUSAGE_NO_CERTSIGN',
  34: 'UNHANDLED_CRITICAL_EXTENSION', 41: 'INVALID_EXTENSION', 47: 'PERMITTED_VIOLATION', 48: 'EXCLUDED_VIOLATION',
  49: 'SUBTREE_MINMAX', 51: 'UNSUPPORTED_CONSTRAINT_TYPE', 53: 'UNSUPPORTED_NAME_SYNTAX', 68: 'CA_MD_TOO_WEAK', 79: 'INVALID_CA',
};

interface Path {
  /** The leaf, then the certificates the peer sends above it. */
  readonly sent: readonly Issued[];
  /** The trust anchor. */
  readonly root: Issued;
  readonly purpose?: CertificatePurpose;
}

function opensslVerdict({ sent, root, purpose }: Path): string | null {
  const files = pemFiles({ 'root.pem': root.pem, 'leaf.pem': sent[0]!.pem, 'sent.pem': sent.slice(1).map((c) => c.pem).join('') });
  try {
    const result = spawnSync('openssl', ['verify', '-auth_level', '1', '-purpose', purpose === 'clientAuth' ? 'sslclient' : 'sslserver',
      '-CAfile', files.path('root.pem'), ...(sent.length > 1 ? ['-untrusted', files.path('sent.pem')] : []), files.path('leaf.pem')],
    { encoding: 'latin1' });
    if (result.status === 0) return null;
    const last = [...result.stderr.matchAll(/error (\d+) at \d+ depth lookup/g)].at(-1);
    if (!last) throw new Error(`openssl verify failed without a verify error:\n${result.stderr}`);
    return VERIFY_CODE_NAMES[Number(last[1])] ?? `X509_V_ERR ${last[1]}`;
  } finally {
    files.remove();
  }
}

// As the engine gets them: parsed from what the peer sent.
function forgeVerdict({ sent, root, purpose }: Path): string | null {
  const parse = (c: Issued) => forge.pki.certificateFromPem(c.pem);
  const error = verifyChain(sent.map(parse), [parse(root)], purpose ?? 'serverAuth');
  return error === null ? null : /\(([A-Z_]+)\)$/.exec(error.message)![1]!;
}

const root = issue('verify test root', { ca: true });
let cas = 0;
const constrainedCa = (permitted: Parameters<typeof nameConstraints>[0], excluded: forge.asn1.Asn1[] = []) =>
  issue(`constrained CA ${++cas}`, { issuer: root, ca: true, extra: [nameConstraints(permitted, excluded)] });
// A leaf whose common name looks like no host name, so that only its alternative names count.
const named = (ca: Issued, ...altNames: object[]) => issue('leaf', { issuer: ca, extensions: [{ name: 'subjectAltName', altNames }] });
const through = (ca: Issued, leaf: Issued): Path => ({ sent: [leaf, ca], root });
const dns = (value: string) => ({ type: 2, value });
const email = (value: string) => ({ type: 1, value });
const uri = (value: string) => ({ type: 6, value });
const ip = (address: string) => ({ type: 7, ip: address });

const permitsExample = constrainedCa([dnsName('example.test')]);
const permitsBelowExample = constrainedCa([dnsName('.example.test')]);
const permitsExampleShouting = constrainedCa([dnsName('EXAMPLE.test')]);
const excludesExample = constrainedCa([], [dnsName('example.test')]);
const permitsExampleButBad = constrainedCa([dnsName('example.test')], [dnsName('bad.example.test')]);
const mailAtExample = constrainedCa([emailName('example.test')]);
const mailBelowExample = constrainedCa([emailName('.example.test')]);
const mailboxA = constrainedCa([emailName('a@example.test')]);
const noMailAtBad = constrainedCa([], [emailName('bad.test')]);
const tenNet = constrainedCa([ipRange([10, 0, 0, 0], [255, 0, 0, 0])]);
const uniqueLocal = constrainedCa([ipRange([0xfd, ...Array<number>(15).fill(0)], [0xff, ...Array<number>(15).fill(0)])]);
const uriBelowExample = constrainedCa([uriName('.example.test')]);
const uriExample = constrainedCa([uriName('example.test')]);
const goodCorp = constrainedCa([directoryName([['2.5.4.10', 'good  CORP']])]);
const bounded = constrainedCa([[dnsName('example.test'), [0, 5]]]);
const registeredId = (oid: string) => generalName(8, forge.asn1.oidToDer(oid).getBytes());
const registered = constrainedCa([registeredId('1.3.6.1.4.1.55555.2')]);
const subjectIn = (ca: Issued, organization: string) =>
  issue([{ name: 'organizationName', value: organization }, { name: 'commonName', value: 'leaf' }], { issuer: ca, extensions: [] });

const NAME_CONSTRAINT_CASES: ReadonlyArray<readonly [string, Path, string | null]> = [
  ['a DNS name below a permitted domain', through(permitsExample, named(permitsExample, dns('www.example.test'))), null],
  ['a DNS name that only ends like a permitted domain', through(permitsExample, named(permitsExample, dns('badexample.test'))), 'PERMITTED_VIOLATION'],
  ['a leading dot permits names below the domain only', through(permitsBelowExample, named(permitsBelowExample, dns('example.test'))), 'PERMITTED_VIOLATION'],
  ['a leading dot permits a name below the domain', through(permitsBelowExample, named(permitsBelowExample, dns('a.example.test'))), null],
  ['DNS names compare without regard to case', through(permitsExampleShouting, named(permitsExampleShouting, dns('www.Example.TEST'))), null],
  ['an excluded domain excludes the names below it', through(excludesExample, named(excludesExample, dns('www.example.test'))), 'EXCLUDED_VIOLATION'],
  ['an excluded subtree inside a permitted one', through(permitsExampleButBad, named(permitsExampleButBad, dns('www.bad.example.test'))), 'EXCLUDED_VIOLATION'],
  ['constraints on DNS names leave IP addresses free', through(permitsExample, named(permitsExample, ip('192.0.2.1'))), null],
  ['an email host permits its addresses', through(mailAtExample, named(mailAtExample, email('a@example.test'))), null],
  ['an email host does not permit addresses below it', through(mailAtExample, named(mailAtExample, email('a@sub.example.test'))), 'PERMITTED_VIOLATION'],
  ['an email domain with a leading dot permits addresses below it', through(mailBelowExample, named(mailBelowExample, email('a@sub.example.test'))), null],
  ['a mailbox permits only itself', through(mailboxA, named(mailboxA, email('b@example.test'))), 'PERMITTED_VIOLATION'],
  ['a mailbox\'s local part compares with case', through(mailboxA, named(mailboxA, email('A@example.test'))), 'PERMITTED_VIOLATION'],
  ['a mailbox\'s host compares without case', through(mailboxA, named(mailboxA, email('a@EXAMPLE.test'))), null],
  ['an email address in the subject counts', through(noMailAtBad, issue([{ name: 'commonName', value: 'leaf' },
    { name: 'emailAddress', value: 'x@bad.test', valueTagClass: forge.asn1.Type.IA5STRING } as unknown as forge.pki.CertificateField],
  { issuer: noMailAtBad, extensions: [] })), 'EXCLUDED_VIOLATION'],
  ['an IPv4 address inside a permitted range', through(tenNet, named(tenNet, ip('10.1.2.3'))), null],
  ['an IPv4 address outside a permitted range', through(tenNet, named(tenNet, ip('11.0.0.1'))), 'PERMITTED_VIOLATION'],
  ['an IPv6 address inside a permitted range', through(uniqueLocal, named(uniqueLocal, ip('fd12::1'))), null],
  ['an IPv4 address against an IPv6 range', through(uniqueLocal, named(uniqueLocal, ip('10.0.0.1'))), 'PERMITTED_VIOLATION'],
  ['a URI whose host is below a permitted domain', through(uriBelowExample, named(uriBelowExample, uri('https://www.example.test:8443/x'))), null],
  ['a URI whose host is the domain itself, against a leading dot', through(uriBelowExample, named(uriBelowExample, uri('https://example.test/'))), 'PERMITTED_VIOLATION'],
  ['a URI whose host is the permitted host', through(uriExample, named(uriExample, uri('https://example.test/path'))), null],
  ['a URI without a host', through(uriExample, named(uriExample, uri('mailto:a@example.test'))), 'UNSUPPORTED_NAME_SYNTAX'],
  ['a subject within a permitted directory name (compared canonically)', through(goodCorp, subjectIn(goodCorp, 'Good Corp')), null],
  ['a subject outside a permitted directory name', through(goodCorp, subjectIn(goodCorp, 'Evil Corp')), 'PERMITTED_VIOLATION'],
  ['a host-like common name counts when there is no DNS name', through(permitsExample,
    issue('www.other.test', { issuer: permitsExample, extensions: [] })), 'PERMITTED_VIOLATION'],
  ['a common name that is no host name does not count', through(permitsExample, issue('just a name', { issuer: permitsExample, extensions: [] })), null],
  ['a subtree with a maximum is refused', through(bounded, named(bounded, dns('www.example.test'))), 'SUBTREE_MINMAX'],
  ['a kind of name OpenSSL cannot compare is refused', through(registered, issue('leaf', { issuer: registered, extensions: [{ id: '2.5.29.17',
    value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [registeredId('1.3.6.1.4.1.55555.3')]) }] })),
  'UNSUPPORTED_CONSTRAINT_TYPE'],
];

const leafWith = (issuer: Issued, ...extensions: object[]) =>
  issue('leaf', { issuer, extensions: [{ name: 'subjectAltName', altNames: [dns('localhost')] }, ...extensions] });
const direct = (leaf: Issued, purpose?: CertificatePurpose): Path => ({ sent: [leaf], root, ...(purpose ? { purpose } : {}) });
const v1Root = issue('version 1 root', { version1: true });
const v1Intermediate = issue('version 1 intermediate', { issuer: root, version1: true });
const md5Ca = issue('MD5 CA', { issuer: root, ca: true, md: 'md5' });
const sha1Self = issue('localhost', { md: 'sha1' });
const policies = { id: '2.5.29.32', critical: true, value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
  forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OID, false, forge.asn1.oidToDer('2.5.29.32.0').getBytes())])]) };

const CERTIFICATE_CASES: ReadonlyArray<readonly [string, Path, string | null]> = [
  ['a version 1 self-signed root is a trust anchor', { sent: [issue('leaf', { issuer: v1Root })], root: v1Root }, null],
  ['a version 1 intermediate is no CA', { sent: [issue('leaf', { issuer: v1Intermediate }), v1Intermediate], root }, 'INVALID_PURPOSE'],
  ['Netscape\'s server gated crypto usage serves a TLS server', direct(leafWith(root, extendedKeyUsage('2.16.840.1.113730.4.1'))), null],
  ['a TLS server certificate used by a client', direct(leafWith(root, { name: 'extKeyUsage', serverAuth: true }), 'clientAuth'), 'INVALID_PURPOSE'],
  ['a client key that can only encipher', direct(leafWith(root, { name: 'keyUsage', keyEncipherment: true }), 'clientAuth'), 'INVALID_PURPOSE'],
  ['a client key for key agreement', direct(leafWith(root, { name: 'keyUsage', keyAgreement: true }), 'clientAuth'), null],
  ['a Netscape certificate type for clients only, used by a server', direct(leafWith(root, { name: 'nsCertType', client: true })), 'INVALID_PURPOSE'],
  ['a critical certificate policies extension is understood', direct(leafWith(root, policies)), null],
  ['a critical extension nobody knows, on a client certificate', direct(leafWith(root, privateExtension(true)), 'clientAuth'),
    'UNHANDLED_CRITICAL_EXTENSION'],
  ['an MD5-signed intermediate', { sent: [issue('leaf', { issuer: md5Ca }), md5Ca], root }, 'CA_MD_TOO_WEAK'],
  ['a SHA-1 self-signed certificate trusted as itself', { sent: [sha1Self], root: sha1Self }, null],
  ['a leaf not valid yet', direct(issue('leaf', { issuer: root, from: 60_000 })), 'CERT_NOT_YET_VALID'],
];

for (const [title, cases] of [['name constraints', NAME_CONSTRAINT_CASES], ['certificate checks', CERTIFICATE_CASES]] as const) {
  describe(`path validation, as OpenSSL does it: ${title}`, () => {
    for (const [name, path, expected] of cases) {
      it(`${name}: ${expected ?? 'accepted'}`, () => {
        expect({ openssl: opensslVerdict(path), forge: forgeVerdict(path) }).toEqual({ openssl: expected, forge: expected });
      });
    }
  });
}

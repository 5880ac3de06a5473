// One table of certificate verification cases, run against every engine:
// the same certificates must give the same verdict and the same error code,
// whether OpenSSL (node) or verify.ts (forge) judges the chain. The host name
// is checked by the filter for both.
import { describe, expect, it } from 'vitest';
import { duplexPair, tls, wrap, type ErrorCode, type TlsClientOptions, type TlsServerOptions, type WirestackError } from '../lib/index.js';
import { makeCertificates, type TestCertificates } from '../lib/testing/index.js';
import { DAY, chain, dnsName, emailName, extendedKeyUsage, ipRange, issue, localhostNames, nameConstraints, privateExtension,
  type IssueOptions, type Issued } from './certificates.js';

const certs = makeCertificates();
const stranger = makeCertificates({ names: ['stranger.test'] });
const wildcard = makeCertificates({ names: ['*.wild.test', '*.0.0.1'] });
const cnOnly = makeCertificates({ names: ['san.test'], commonName: 'cn.test' });
const self = issue('localhost', {});
const selfSigned = { cert: self.pem, key: self.keyPem };
const root = issue('wirestack test root', { ca: true });
const intermediate = issue('wirestack test intermediate', { issuer: root, ca: true });
const notCa = issue('wirestack test not-a-CA', { issuer: root, ca: false });
const expiredIntermediate = issue('wirestack test expired intermediate', { issuer: root, ca: true, from: -30 * DAY, to: -DAY });
const leafOf = (issuer: Issued) => issue('localhost', { issuer });
const viaIntermediate = leafOf(intermediate);
const viaNotCa = leafOf(notCa);
const viaExpired = leafOf(expiredIntermediate);

// One certificate breaking (or keeping) one rule of path validation each.
const caUnder = (name: string, extra: object[] = [], opts: IssueOptions = {}) => issue(name, { issuer: root, ca: true, extra, ...opts });
const leafWith = (issuer: Issued, ...extensions: object[]) => issue('localhost', { issuer, extensions });
const viaCa = (ca: Issued, leaf: Issued = leafOf(ca)) => chain(leaf, ca);
const permitsLocalhost = caUnder('permits localhost', [nameConstraints([dnsName('localhost')])]);
const permitsExample = caUnder('permits example.test', [nameConstraints([dnsName('example.test')])]);
const excludesLocalhost = caUnder('excludes localhost', [nameConstraints([], [dnsName('localhost')])]);
const permitsTenNet = caUnder('permits 10/8', [nameConstraints([ipRange([10, 0, 0, 0], [255, 0, 0, 0])])]);
const excludesBadMail = caUnder('excludes bad.test mail', [nameConstraints([], [emailName('bad.test')])]);
const noMoreCas = issue('no CA below', { issuer: root, extensions: [{ name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
  { name: 'keyUsage', keyCertSign: true, critical: true }] });
const belowNoMoreCas = issue('CA below a pathLen 0 CA', { issuer: noMoreCas, ca: true });
const noCertSign = issue('CA without keyCertSign', { issuer: root, extensions: [{ name: 'basicConstraints', cA: true, critical: true },
  { name: 'keyUsage', cRLSign: true, critical: true }] });
const clientsOnlyCa = caUnder('CA for TLS clients only', [{ name: 'extKeyUsage', clientAuth: true }]);
const serversOnlyCa = caUnder('CA for TLS servers only', [{ name: 'extKeyUsage', serverAuth: true }]);
const criticalCa = caUnder('CA with an unknown critical extension', [privateExtension(true)]);
const sha1Ca = caUnder('SHA-1 CA', [], { md: 'sha1' });
const sha1Root = issue('SHA-1 root', { ca: true, md: 'sha1' });
const md5Root = issue('MD5 root', { ca: true, md: 'md5' });
const expiredSelf = issue('localhost', { from: -30 * DAY, to: -DAY });
const clientForServers = issue('client', { issuer: root, extensions: [{ name: 'extKeyUsage', serverAuth: true }] });

// Each engine's options for a session both peers can speak, and what its
// server needs to serve a chain signed with MD5 or SHA-1: OpenSSL will not
// even load one at its default security level, so such a server runs at
// level 0 (the client, whose verification is tested, keeps its default).
const ENGINES: Record<string, { options: TlsClientOptions & TlsServerOptions; weakChainServer: TlsServerOptions }> = {
  node: { options: {}, weakChainServer: { ciphers: 'DEFAULT:@SECLEVEL=0' } },
  forge: { options: { engine: 'forge', minVersion: 'TLSv1' }, weakChainServer: {} },
};

interface Case {
  readonly name: string;
  readonly client: TlsClientOptions;
  readonly server: TlsServerOptions;
  /** The host the client is told it connected to (default localhost; null: none). */
  readonly host?: string | null;
  /** The side that must fail and its code; absent: the handshake succeeds. */
  readonly fails?: { readonly side: 'client' | 'server'; readonly code: ErrorCode };
  /** With rejectUnauthorized false: the client side's reported verdict. */
  readonly reports?: { readonly authorized: boolean; readonly error?: ErrorCode };
  /** The server's chain is signed with MD5 or SHA-1 (see ENGINES). */
  readonly weakChain?: boolean;
}

const server = (pki: TestCertificates = certs): TlsServerOptions => ({ cert: pki.server.cert, key: pki.server.key });
const mutual: TlsServerOptions = { ...server(), ca: certs.ca.cert, requestCert: true };
const invalid = { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_INVALID' } as const;
const trusted = { authorized: true } as const;

const CASES: readonly Case[] = [
  { name: 'accepts a certificate from the given CA for the host', client: { ca: certs.ca.cert }, server: server(), reports: { authorized: true } },
  { name: 'rejects when no CA is given (no default roots will do)', client: {}, server: server(), fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  { name: 'rejects a certificate from another CA', client: { ca: stranger.ca.cert }, server: server(), fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  { name: 'rejects a self-signed certificate', client: { ca: certs.ca.cert }, server: selfSigned,
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  { name: 'accepts a self-signed certificate given as the CA', client: { ca: selfSigned.cert }, server: selfSigned, reports: { authorized: true } },
  { name: 'accepts a chain through an intermediate CA', client: { ca: root.pem }, server: chain(viaIntermediate, intermediate), reports: { authorized: true } },
  { name: 'rejects a chain missing its intermediate CA', client: { ca: root.pem }, server: chain(viaIntermediate),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  // OpenSSL's purpose check for TLS finds this first (INVALID_PURPOSE); verify.ts says the same.
  { name: 'rejects a chain through a certificate that is not a CA', client: { ca: root.pem }, server: chain(viaNotCa, notCa),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_INVALID' } },
  { name: 'rejects a chain through an expired intermediate CA', client: { ca: root.pem }, server: chain(viaExpired, expiredIntermediate),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_EXPIRED' } },
  { name: 'refuses to skip the host name check when no host is known', client: { ca: certs.ca.cert }, server: server(), host: null,
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'checks the host connected to with servername: false', client: { ca: certs.ca.cert, servername: false }, server: server(),
    reports: { authorized: true } },
  { name: 'rejects a certificate for another host name', client: { ca: certs.ca.cert, servername: 'example.com' }, server: server(),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'rejects an expired certificate', client: { ca: certs.ca.cert }, server: certs.expired, fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_EXPIRED' } },
  { name: 'rejects a certificate that is not valid yet', client: { ca: certs.ca.cert }, server: certs.notYetValid,
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_NOT_YET_VALID' } },
  { name: 'rejects a client certificate used as a server certificate', client: { ca: certs.ca.cert, servername: 'client' },
    server: { cert: certs.client.cert, key: certs.client.key }, fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_INVALID' } },
  { name: 'checks an IP address against the IP entries', client: { ca: certs.ca.cert }, server: server(), host: '127.0.0.1', reports: { authorized: true } },
  { name: 'checks an IPv6 address against the IP entries', client: { ca: certs.ca.cert }, server: server(), host: '::1', reports: { authorized: true } },
  { name: 'rejects an IP address the certificate does not name', client: { ca: certs.ca.cert }, server: server(), host: '10.0.0.1',
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'matches a wildcard for one left-most label', client: { ca: wildcard.ca.cert, servername: 'a.wild.test' }, server: server(wildcard),
    reports: { authorized: true } },
  { name: 'does not match a wildcard across two labels', client: { ca: wildcard.ca.cert, servername: 'a.b.wild.test' }, server: server(wildcard),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'does not match a wildcard for the bare parent name', client: { ca: wildcard.ca.cert, servername: 'wild.test' }, server: server(wildcard),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'never matches a wildcard against an IP address', client: { ca: wildcard.ca.cert }, server: server(wildcard), host: '127.0.0.1',
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'ignores the common name when there are alternative names', client: { ca: cnOnly.ca.cert, servername: 'cn.test' }, server: server(cnOnly),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'reports instead of rejecting with rejectUnauthorized: false (unknown CA)', client: { rejectUnauthorized: false }, server: server(),
    reports: { authorized: false, error: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  { name: 'reports instead of rejecting with rejectUnauthorized: false (host name)', client: { ca: certs.ca.cert, servername: 'example.com', rejectUnauthorized: false },
    server: server(), reports: { authorized: false, error: 'ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH' } },
  { name: 'reports instead of rejecting with rejectUnauthorized: false (expired)', client: { ca: certs.ca.cert, rejectUnauthorized: false },
    server: certs.expired, reports: { authorized: false, error: 'ERR_WIRESTACK_TLS_CERT_EXPIRED' } },
  { name: 'verifies a client certificate (mutual TLS)', client: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }, server: mutual,
    reports: { authorized: true } },
  { name: 'refuses a client without a certificate when one is required', client: { ca: certs.ca.cert }, server: mutual,
    fails: { side: 'server', code: 'ERR_WIRESTACK_TLS_HANDSHAKE' } },
  { name: 'rejects a client certificate from another CA', client: { ca: certs.ca.cert, cert: stranger.client.cert, key: stranger.client.key }, server: mutual,
    fails: { side: 'server', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
  { name: 'rejects an expired client certificate', client: { ca: certs.ca.cert, cert: certs.expired.cert, key: certs.expired.key }, server: mutual,
    fails: { side: 'server', code: 'ERR_WIRESTACK_TLS_CERT_EXPIRED' } },
  // Path validation rules: OpenSSL's verify code for each is in a comment.
  // Name constraints of a CA bind the names of the certificates below it.
  { name: 'accepts a leaf within its CA\'s permitted DNS names', client: { ca: root.pem }, server: viaCa(permitsLocalhost), reports: trusted },
  { name: 'rejects a DNS name outside its CA\'s permitted names', client: { ca: root.pem }, server: viaCa(permitsExample), fails: invalid }, // PERMITTED_VIOLATION
  { name: 'rejects a DNS name among its CA\'s excluded names', client: { ca: root.pem }, server: viaCa(excludesLocalhost), fails: invalid }, // EXCLUDED_VIOLATION
  { name: 'rejects an IP address outside its CA\'s permitted range', client: { ca: root.pem },
    server: viaCa(permitsTenNet, leafWith(permitsTenNet, localhostNames({ type: 7, ip: '127.0.0.1' }))), fails: invalid }, // PERMITTED_VIOLATION
  { name: 'rejects an email address among its CA\'s excluded names', client: { ca: root.pem },
    server: viaCa(excludesBadMail, leafWith(excludesBadMail, localhostNames({ type: 1, value: 'someone@bad.test' }))), fails: invalid }, // EXCLUDED_VIOLATION
  { name: 'checks a host-like common name against name constraints when there is no DNS name', client: { ca: root.pem, servername: 'www.other.test' },
    server: viaCa(permitsExample, issue('www.other.test', { issuer: permitsExample, extensions: [] })), fails: invalid }, // PERMITTED_VIOLATION
  // pathLenConstraint: how many CAs may follow a CA.
  { name: 'accepts a leaf issued by a CA whose path length is 0', client: { ca: root.pem }, server: viaCa(noMoreCas), reports: trusted },
  { name: 'rejects a CA below a CA whose path length is 0', client: { ca: root.pem },
    server: chain(leafOf(belowNoMoreCas), belowNoMoreCas, noMoreCas), fails: invalid }, // PATH_LENGTH_EXCEEDED
  // Key usage: issuers must be allowed to sign certificates; a server's key to sign or encipher.
  { name: 'rejects an issuer whose key usage does not allow signing certificates', client: { ca: root.pem }, server: viaCa(noCertSign),
    fails: invalid }, // KEYUSAGE_NO_CERTSIGN
  { name: 'rejects a server certificate whose key usage allows neither signing nor key exchange', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), { name: 'keyUsage', nonRepudiation: true, critical: true })), fails: invalid }, // INVALID_PURPOSE
  { name: 'accepts a server certificate whose key usage is keyEncipherment alone, as OpenSSL does', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), { name: 'keyUsage', keyEncipherment: true, critical: true })), reports: trusted },
  // Extended key usage: the leaf must be for its role, and an issuer that names usages must allow it.
  { name: 'rejects a server certificate meant only for code signing', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), { name: 'extKeyUsage', codeSigning: true })), fails: invalid }, // INVALID_PURPOSE
  { name: 'rejects a server certificate whose only extended key usage is "any", as OpenSSL does', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), extendedKeyUsage('2.5.29.37.0'))), fails: invalid }, // INVALID_PURPOSE
  { name: 'rejects a chain through a CA whose extended key usage excludes TLS servers', client: { ca: root.pem }, server: viaCa(clientsOnlyCa),
    fails: invalid }, // INVALID_PURPOSE
  { name: 'accepts a chain through a CA whose extended key usage names TLS servers', client: { ca: root.pem }, server: viaCa(serversOnlyCa),
    reports: trusted },
  { name: 'rejects a client certificate meant only for TLS servers', client: { ca: certs.ca.cert, cert: clientForServers.pem, key: clientForServers.keyPem },
    server: { ...server(), ca: root.pem, requestCert: true }, fails: { side: 'server', code: 'ERR_WIRESTACK_TLS_CERT_INVALID' } }, // INVALID_PURPOSE
  // Critical extensions must be understood; others may be ignored.
  { name: 'rejects a leaf with an unknown critical extension', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), privateExtension(true))), fails: invalid }, // UNHANDLED_CRITICAL_EXTENSION
  { name: 'rejects an intermediate with an unknown critical extension', client: { ca: root.pem }, server: viaCa(criticalCa),
    fails: invalid }, // UNHANDLED_CRITICAL_EXTENSION
  { name: 'rejects a critical subject key identifier, which OpenSSL does not handle as critical', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), { name: 'subjectKeyIdentifier', critical: true })), fails: invalid }, // UNHANDLED_CRITICAL_EXTENSION
  { name: 'accepts an unknown extension that is not critical', client: { ca: root.pem },
    server: chain(leafWith(root, localhostNames(), privateExtension(false))), reports: trusted },
  // Signatures too weak for today, below the trust anchor.
  { name: 'rejects an MD5-signed leaf', client: { ca: root.pem }, server: chain(issue('localhost', { issuer: root, md: 'md5' })), weakChain: true,
    fails: invalid }, // CA_MD_TOO_WEAK
  { name: 'rejects a SHA-1-signed leaf', client: { ca: root.pem }, server: chain(issue('localhost', { issuer: root, md: 'sha1' })), weakChain: true,
    fails: invalid }, // CA_MD_TOO_WEAK
  { name: 'rejects a SHA-1-signed intermediate', client: { ca: root.pem }, server: viaCa(sha1Ca), weakChain: true, fails: invalid }, // CA_MD_TOO_WEAK
  { name: 'accepts a SHA-1-signed root: a trust anchor\'s own signature is not relied on', client: { ca: sha1Root.pem },
    server: chain(leafOf(sha1Root)), reports: trusted },
  { name: 'accepts an MD5-signed root, as OpenSSL does, for the same reason', client: { ca: md5Root.pem }, server: chain(leafOf(md5Root)),
    reports: trusted },
  // Where OpenSSL finds two faults it reports the last; the forge engine too.
  { name: 'reports an expired self-signed certificate as expired', client: { ca: certs.ca.cert }, server: chain(expiredSelf),
    fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_CERT_EXPIRED' } },
  { name: 'rejects a trusted intermediate without its root (no partial chains)', client: { ca: intermediate.pem },
    server: chain(viaIntermediate, intermediate), fails: { side: 'client', code: 'ERR_WIRESTACK_TLS_UNKNOWN_CA' } },
];

async function failureOf(promise: Promise<unknown>): Promise<WirestackError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (err: WirestackError) => err);
}

for (const [engine, { options: engineOptions, weakChainServer }] of Object.entries(ENGINES)) {
  describe(`tls verification: ${engine} engine`, () => {
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const [a, b] = duplexPair();
        const remote = testCase.host === null ? {} : { host: testCase.host ?? 'localhost' };
        const c = wrap(a, tls.client({ ...engineOptions, ...testCase.client }), { role: 'client', remote });
        const s = wrap(b, tls.server({ ...engineOptions, ...(testCase.weakChain ? weakChainServer : {}), ...testCase.server }), { role: 'server' });
        if (testCase.fails) {
          const side = testCase.fails.side === 'client' ? c : s;
          expect((await failureOf(side.secured)).code).toBe(testCase.fails.code);
          // The other side fails too (a TLS error or the transport's end), never hangs.
          const other = side === c ? s : c;
          expect((await failureOf(other.receive())).code).toMatch(/^ERR_WIRESTACK_/);
          return;
        }
        const [ci, si] = await Promise.all([c.secured, s.secured]);
        const judged = testCase.server.requestCert ? si : ci;
        expect(judged.authorized).toBe(testCase.reports!.authorized);
        if (testCase.reports!.error) expect(judged.authorizationError).toMatch(new RegExp(`^${testCase.reports!.error}:`));
        // Accepted by policy: bytes flow.
        await c.send('ping');
        expect((await s.receiveExactly(4)).toString()).toBe('ping');
        await s.send('pong');
        expect((await c.receiveExactly(4)).toString()).toBe('pong');
        c.destroy();
      });
    }
  });
}

describe('makeCertificates', () => {
  it('gives the same PKI for the same options and an unrelated one for another label', () => {
    const first = makeCertificates();
    expect(makeCertificates()).toBe(first);
    const other = makeCertificates({ label: 'other' });
    expect(other.ca.cert).not.toBe(first.ca.cert);
  });
});

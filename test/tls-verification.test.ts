// One table of certificate verification cases, run against every engine:
// the same certificates must give the same verdict and the same error code,
// whether OpenSSL (node) or verify.ts (forge) judges the chain. The host name
// is checked by the filter for both.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { duplexPair, tls, wrap, type ErrorCode, type TlsClientOptions, type TlsServerOptions, type WirestackError } from '../lib/index.js';
import { makeCertificates, type TestCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();
const stranger = makeCertificates({ names: ['stranger.test'] });
const wildcard = makeCertificates({ names: ['*.wild.test', '*.0.0.1'] });
const cnOnly = makeCertificates({ names: ['san.test'], commonName: 'cn.test' });
const DAY = 86_400_000;

interface Issued { cert: forge.pki.Certificate; pem: string; key: forge.pki.rsa.PrivateKey; keyPem: string }

// A certificate made here, for chains makeCertificates() does not make:
// self-signed leaves and intermediate CAs (valid or not).
function issue(subject: string, opts: { issuer?: Issued; ca?: boolean; from?: number; to?: number; san?: string }): Issued {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `0${Math.floor(Math.random() * 1e9).toString(16)}`;
  cert.validity.notBefore = new Date(Date.now() + (opts.from ?? -DAY));
  cert.validity.notAfter = new Date(Date.now() + (opts.to ?? 30 * DAY));
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : [{ name: 'commonName', value: subject }]);
  cert.setExtensions(opts.ca !== undefined
    ? [{ name: 'basicConstraints', cA: opts.ca, critical: true }, ...(opts.ca ? [{ name: 'keyUsage', keyCertSign: true, critical: true }] : [])]
    : [{ name: 'subjectAltName', altNames: [{ type: 2, value: opts.san ?? subject }] }]);
  cert.sign(opts.issuer?.key ?? key, forge.md.sha256.create());
  return { cert, pem: forge.pki.certificateToPem(cert), key, keyPem: privateKey };
}

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
const chain = (leaf: Issued, ...above: Issued[]) => ({ cert: [leaf.pem, ...above.map((c) => c.pem)].join(''), key: leaf.keyPem });

// Each engine's options for a session both peers can speak.
const ENGINES: Record<string, TlsClientOptions & TlsServerOptions> = {
  node: {},
  forge: { engine: 'forge', minVersion: 'TLSv1' },
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
}

const server = (pki: TestCertificates = certs): TlsServerOptions => ({ cert: pki.server.cert, key: pki.server.key });
const mutual: TlsServerOptions = { ...server(), ca: certs.ca.cert, requestCert: true };

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
];

async function failureOf(promise: Promise<unknown>): Promise<WirestackError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (err: WirestackError) => err);
}

for (const [engine, engineOptions] of Object.entries(ENGINES)) {
  describe(`tls verification: ${engine} engine`, () => {
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        const [a, b] = duplexPair();
        const remote = testCase.host === null ? {} : { host: testCase.host ?? 'localhost' };
        const c = wrap(a, tls.client({ ...engineOptions, ...testCase.client }), { role: 'client', remote });
        const s = wrap(b, tls.server({ ...engineOptions, ...testCase.server }), { role: 'server' });
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

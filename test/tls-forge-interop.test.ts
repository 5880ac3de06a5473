// Interop of the forge engine with OpenSSL: Node's engine in-process (both
// ways, over TCP) and real `openssl s_server` / `s_client` processes. The
// OpenSSL side is set down to forge's level in these tests only: TLS 1.0/1.1,
// AES128-SHA at security level 0, and (as a client) accepting a server
// without secure renegotiation, which forge does not implement.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { constants, randomBytes } from 'node:crypto';
import { connect, listen, tls, type Connection, type Filter, type WirestackError } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { sha256 } from './helpers.js';
import { exited, pemFiles, startServer, talkToClient, talkToServer, watch } from './openssl.js';

const certs = makeCertificates();
const files = pemFiles({ 'ca.pem': certs.ca.cert, 'server.pem': certs.server.cert, 'server.key': certs.server.key });
afterAll(() => files.remove());

const forge = { engine: 'forge', minVersion: 'TLSv1' } as const;
const legacy = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'AES128-SHA:@SECLEVEL=0' } as const;

async function tcpPair(client: Filter, server: Filter): Promise<{ c: Connection; s: Connection; close: () => Promise<void> }> {
  let accepted!: (conn: Connection) => void;
  const got = new Promise<Connection>((resolve) => { accepted = resolve; });
  const listener = await listen({ host: '127.0.0.1', port: 0 }, [server], (conn) => accepted(conn));
  const { port } = listener.address() as { port: number };
  const c = await connect({ host: 'localhost', port }, [client]);
  return { c, s: await got, close: () => listener.close({ drain: false }) };
}

// Bytes both ways (a large transfer checked by SHA-256, with OpenSSL's empty
// TLS 1.0 CBC records among them), then close_notify both ways.
async function exchange(c: Connection, s: Connection): Promise<void> {
  const data = randomBytes(1 << 20);
  const got = s.receiveExactly(data.length);
  await c.send(data);
  expect(sha256(await got)).toBe(sha256(data));
  await s.send('pong');
  expect((await c.receiveExactly(4)).toString()).toBe('pong');
  await c.close();
  expect(await s.receive()).toBe(null);
  expect(s.tls!.peerClose).toBe('close_notify');
  await s.send('after half-close');
  expect((await c.receiveExactly(16)).toString()).toBe('after half-close');
  await s.close();
  expect(await c.receive()).toBe(null);
  expect(c.tls!.peerClose).toBe('close_notify');
}

describe('interop: forge ↔ node engine', () => {
  it('forge client, node server', async () => {
    const { c, s, close } = await tcpPair(tls.client({ ...forge, ca: certs.ca.cert }), tls.server({ ...legacy, ...certs.server }));
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    expect([ci.protocol, si.protocol]).toEqual(['TLSv1.1', 'TLSv1.1']);
    expect(ci.cipher).toBe('TLS_RSA_WITH_AES_128_CBC_SHA');
    expect(ci.authorized).toBe(true);
    await exchange(c, s);
    await close();
  });

  it('a forge client sends SNI (the node server picks its certificate by it)', async () => {
    const other = makeCertificates({ names: ['other.test'] });
    const seen: string[] = [];
    const server = tls.server({ ...legacy, ...certs.server, sni: (name) => { seen.push(name); return name === 'other.test' ? other.server : undefined; } });
    const { c, close } = await tcpPair(tls.client({ ...forge, ca: [certs.ca.cert, other.ca.cert], servername: 'other.test' }), server);
    expect((await c.secured).peerCertificate!.subjectAltNames).toEqual(['DNS:other.test']);
    expect(seen).toEqual(['other.test']);
    c.destroy();
    await close();
  });

  it('forge client capped at TLS 1.0, node server (OpenSSL sends empty CBC records)', async () => {
    const { c, s, close } = await tcpPair(tls.client({ ...forge, maxVersion: 'TLSv1', ca: certs.ca.cert }),
      tls.server({ ...legacy, ...certs.server }));
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    expect([ci.protocol, si.protocol]).toEqual(['TLSv1', 'TLSv1']);
    await exchange(s, c);
    await close();
  });

  it('node client, forge server', async () => {
    const { c, s, close } = await tcpPair(
      tls.client({ ...legacy, ca: certs.ca.cert, secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT }),
      tls.server({ ...forge, ...certs.server }));
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    // A forge server answers TLS 1.0 whatever the client offers.
    expect([ci.protocol, si.protocol]).toEqual(['TLSv1', 'TLSv1']);
    expect(ci.authorized).toBe(true);
    await exchange(c, s);
    await close();
  });

  it('mutual TLS: forge client certificate verified by a node server, and the reverse', async () => {
    const client = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
    const server = { ...certs.server, ca: certs.ca.cert, requestCert: true };
    const a = await tcpPair(tls.client({ ...forge, ...client }), tls.server({ ...legacy, ...server }));
    expect((await a.s.secured).peerCertificate!.subject).toBe('CN=client');
    expect((await a.s.secured).authorized).toBe(true);
    await a.close();
    const b = await tcpPair(tls.client({ ...legacy, ...client, secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT }),
      tls.server({ ...forge, ...server }));
    expect((await b.s.secured).peerCertificate!.subject).toBe('CN=client');
    expect((await b.s.secured).authorized).toBe(true);
    await b.close();
  });
});

describe('interop: openssl ↔ forge', () => {
  it('openssl s_server -tls1_1 ↔ forge client', async () => {
    const { server, out, port } = await startServer(['-tls1_1', '-cipher', 'AES128-SHA:@SECLEVEL=0',
      '-cert', files.path('server.pem'), '-key', files.path('server.key')]);
    try {
      const conn = await connect({ host: 'localhost', port }, [tls.client({ ...forge, ca: certs.ca.cert })]);
      const info = await conn.secured;
      expect(info.protocol).toBe('TLSv1.1');
      expect(info.authorized).toBe(true);
      await talkToServer(conn, server, out, 'hello from forge');
    } finally {
      server.kill();
    }
  });

  it('openssl s_client ↔ forge server', async () => {
    let resolveConn!: (conn: Connection) => void;
    const accepted = new Promise<Connection>((resolve) => { resolveConn = resolve; });
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ ...forge, ...certs.server })], (conn) => resolveConn(conn));
    const { port } = listener.address() as { port: number };
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1', '-cipher', 'AES128-SHA:@SECLEVEL=0',
      '-legacy_server_connect', '-CAfile', files.path('ca.pem'), '-servername', 'localhost', '-verify_return_error']);
    const out = watch(client);
    try {
      const conn = await accepted;
      const info = await conn.secured;
      expect(info.protocol).toBe('TLSv1');
      await talkToClient(conn, client, out, 'hello from forge');
      expect(out.output).toContain('Verify return code: 0 (ok)');
      conn.destroy();
    } finally {
      client.kill();
      await listener.close();
    }
  });

  // The client's alert comes in a TLS 1.2 record, which forge refuses (protocol_version) before reading it.
  it('openssl s_client -tls1_2 ↔ forge server: both fail the handshake', async () => {
    let resolveConn!: (conn: Connection) => void;
    const accepted = new Promise<Connection>((resolve) => { resolveConn = resolve; });
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ ...forge, ...certs.server })], (conn) => resolveConn(conn));
    const { port } = listener.address() as { port: number };
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-CAfile', files.path('ca.pem')]);
    watch(client);
    try {
      const err = await (await accepted).secured.then(() => null, (e: WirestackError) => e);
      expect(err?.code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
      expect(err?.message).toMatch(/Incompatible TLS version/);
      expect(await exited(client)).not.toBe(0);
    } finally {
      client.kill();
      await listener.close();
    }
  });
});

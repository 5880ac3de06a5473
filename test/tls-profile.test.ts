// The node engine's default profile (Mozilla's "intermediate", profile.ts),
// against real openssl peers: what it refuses, each time with a control that
// loosens the one option and shows the same peer then gets through; the
// server's cipher order; renegotiation refused.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants, randomBytes } from 'node:crypto';
import { connect, listen, tls, type Connection, type Listener, type TlsServerOptions, type WirestackError } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { sha256 } from './helpers.js';
import { exited, pemFiles, startServer, watch, type Watched } from './openssl.js';

const certs = makeCertificates();
const files = pemFiles({ 'ca.pem': certs.ca.cert, 'server.pem': certs.server.cert, 'server.key': certs.server.key });
afterAll(() => files.remove());

interface Served {
  listener: Listener;
  port: number;
  /** The next connection the server accepted (its handshake may still fail). */
  accepted: Promise<Connection>;
  /** The first failure the listener reports. */
  failed: Promise<WirestackError>;
}

async function serve(options: Partial<TlsServerOptions> = {}): Promise<Served> {
  let onConnection!: (conn: Connection) => void;
  const accepted = new Promise<Connection>((resolve) => { onConnection = resolve; });
  const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ ...certs.server, ...options })], (conn) => onConnection(conn));
  const failed = new Promise<WirestackError>((resolve) => listener.once('connectionError', (err) => resolve(err)));
  return { listener, port: (listener.address() as { port: number }).port, accepted, failed };
}

function sClient(port: number, args: readonly string[]): { client: ChildProcessWithoutNullStreams; out: Watched } {
  const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', files.path('ca.pem'),
    '-servername', 'localhost', '-verify_return_error', ...args]);
  return { client, out: watch(client) };
}

// What a default server refuses, and the one option that, loosened, lets the same client in.
const REFUSED: ReadonlyArray<{ what: string; client: readonly string[]; loosened: Partial<TlsServerOptions>; protocol: string; cipher: string }> = [
  { what: 'only a CBC suite (ECDHE-RSA-AES128-SHA)', client: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA'],
    loosened: { ciphers: 'ECDHE-RSA-AES128-SHA' }, protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' },
  { what: 'only RSA key exchange (AES128-GCM-SHA256, no forward secrecy)', client: ['-tls1_2', '-cipher', 'AES128-GCM-SHA256'],
    loosened: { ciphers: 'AES128-GCM-SHA256' }, protocol: 'TLSv1.2', cipher: 'TLS_RSA_WITH_AES_128_GCM_SHA256' },
  { what: 'only TLS 1.1', client: ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'],
    loosened: { minVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, protocol: 'TLSv1.1', cipher: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA' },
];

describe('the defaults', () => {
  it('are OpenSSL\'s flags as Node names them: no renegotiation, the server\'s cipher order', () => {
    expect(tls.defaults.secureOptions).toBe(constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_CIPHER_SERVER_PREFERENCE);
    expect(tls.defaults.minVersion).toBe('TLSv1.2');
  });
});

describe('secure defaults: a wirestack server and openssl s_client', () => {
  for (const { what, client: args, loosened, protocol, cipher } of REFUSED) {
    it(`refuses a client offering ${what}, which the loosened option lets in`, async () => {
      const strict = await serve();
      const refused = sClient(strict.port, args);
      try {
        const err = await strict.failed;
        expect(err.code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
        expect(await exited(refused.client)).not.toBe(0);
      } finally {
        refused.client.kill();
        await strict.listener.close({ drain: false });
      }
      const loose = await serve(loosened);
      const admitted = sClient(loose.port, args);
      try {
        const info = await (await loose.accepted).secured;
        expect([info.protocol, info.cipher]).toEqual([protocol, cipher]);
      } finally {
        admitted.client.kill();
        await loose.listener.close({ drain: false });
      }
    });
  }

  for (const [version, offer, chosen] of [
    ['TLSv1.2', ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384'], 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
    ['TLSv1.3', ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384'], 'TLS_AES_256_GCM_SHA384'],
  ] as const) {
    it(`picks the cipher suite by its own order, not the client's (${version})`, async () => {
      const served = await serve();
      const { client } = sClient(served.port, offer);
      try {
        const info = await (await served.accepted).secured;
        expect([info.protocol, info.cipher]).toEqual([version, chosen]);
      } finally {
        client.kill();
        await served.listener.close({ drain: false });
      }
    });
  }
});

// s_client renegotiates when a line "R" comes on its input (without -quiet),
// before it sends the next line. It prints "depth=0 …" each time it verifies
// the server's certificate: once per handshake.
async function renegotiate(options: Partial<TlsServerOptions>): Promise<{ conn: Connection; out: Watched; client: ChildProcessWithoutNullStreams; served: Served }> {
  const served = await serve(options);
  const { client, out } = sClient(served.port, ['-tls1_2']);
  const conn = await served.accepted;
  await conn.secured;
  client.stdin.write('before\n');
  expect((await conn.receiveExactly(7)).toString()).toBe('before\n');
  client.stdin.write('R\n');
  await out.until('RENEGOTIATING', 'renegotiating');
  client.stdin.write('after\n');
  return { conn, out, client, served };
}

const handshakesOf = (out: Watched): number => out.output.split('depth=0 ').length - 1;

describe('renegotiation', () => {
  it('a client asking for it is refused: the connection fails with a coded error on our side', async () => {
    const { conn, out, client, served } = await renegotiate({});
    try {
      // OpenSSL refuses the new ClientHello (no_renegotiation); s_client takes that as fatal and says so.
      const err = await conn.receive().then(() => null, (e: WirestackError) => e);
      expect(err?.code).toBe('ERR_WIRESTACK_TLS_ALERT');
      expect(err?.alert).toBe('handshake_failure');
      expect(await exited(client)).not.toBe(0);
      expect(handshakesOf(out)).toBe(1);
    } finally {
      client.kill();
      await served.listener.close({ drain: false });
    }
  });

  it('with secureOptions loosened, the same client renegotiates and bytes still flow intact', async () => {
    const { conn, out, client, served } = await renegotiate({ secureOptions: 0 });
    try {
      expect((await conn.receiveExactly(6)).toString()).toBe('after\n');
      expect(handshakesOf(out)).toBe(2);
      const data = randomBytes(64 << 10).toString('hex');
      await conn.send(data);
      await out.until(data.slice(-64), 'the bytes after renegotiation');
      const received = out.output.slice(out.output.indexOf(data.slice(0, 64)));
      expect(sha256(received.slice(0, data.length))).toBe(sha256(data));
    } finally {
      client.kill();
      await served.listener.close({ drain: false });
    }
  });
});

describe('secure defaults: a wirestack client and openssl s_server', () => {
  it('refuses a server offering only a CBC suite, which the loosened option lets in', async () => {
    const serverArgs = ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA', '-cert', files.path('server.pem'), '-key', files.path('server.key')];
    const strict = await startServer(serverArgs);
    try {
      const conn = await connect({ host: 'localhost', port: strict.port }, [tls.client({ ca: certs.ca.cert })]);
      const err = await conn.secured.then(() => null, (e: WirestackError) => e);
      expect(err?.code).toBe('ERR_WIRESTACK_TLS_ALERT');
      expect(err?.alert).toBe('handshake_failure');
    } finally {
      strict.server.kill();
    }
    const loose = await startServer(serverArgs);
    try {
      const conn = await connect({ host: 'localhost', port: loose.port }, [tls.client({ ca: certs.ca.cert, ciphers: 'ECDHE-RSA-AES128-SHA' })]);
      expect((await conn.secured).cipher).toBe('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA');
      conn.destroy();
    } finally {
      loose.server.kill();
    }
  });
});

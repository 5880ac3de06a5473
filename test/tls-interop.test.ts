// Interop with real OpenSSL peers on loopback: `openssl s_server` against
// the wirestack client and `openssl s_client` against the wirestack server,
// for TLS 1.2 and 1.3, checking the bytes both ways and the close.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { connect, listen, tls, type Connection } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { pemFiles, startServer, talkToClient, talkToServer, watch } from './openssl.js';

const certs = makeCertificates();
const files = pemFiles({ 'ca.pem': certs.ca.cert, 'server.pem': certs.server.cert, 'server.key': certs.server.key });
afterAll(() => files.remove());

const VERSIONS = [['TLSv1.2', '-tls1_2'], ['TLSv1.3', '-tls1_3']] as const;

describe('interop: openssl s_server ↔ wirestack client', () => {
  for (const [version, flag] of VERSIONS) {
    it(version, async () => {
      const { server, out, port } = await startServer([flag, '-cert', files.path('server.pem'), '-key', files.path('server.key')]);
      try {
        const conn: Connection = await connect({ host: 'localhost', port }, [tls.client({ ca: certs.ca.cert })]);
        const info = await conn.secured;
        expect(info.protocol).toBe(version);
        expect(info.authorized).toBe(true);
        await talkToServer(conn, server, out, 'hello from wirestack');
      } finally {
        server.kill();
      }
    });
  }
});

describe('interop: openssl s_client ↔ wirestack server', () => {
  for (const [version, flag] of VERSIONS) {
    it(version, async () => {
      let resolveConn!: (conn: Connection) => void;
      const accepted = new Promise<Connection>((resolve) => { resolveConn = resolve; });
      const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server(certs.server)], (conn) => resolveConn(conn));
      const { port } = listener.address() as { port: number };
      const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, flag, '-CAfile', files.path('ca.pem'),
        '-servername', 'localhost', '-verify_return_error']);
      const out = watch(client);
      try {
        const conn = await accepted;
        const info = await conn.secured;
        expect(info.protocol).toBe(version);
        await talkToClient(conn, client, out, 'hello from wirestack');
        conn.destroy();
      } finally {
        client.kill();
        await listener.close();
      }
    });
  }
});

// Interop with real OpenSSL peers on loopback: `openssl s_server` against
// the wirestack client and `openssl s_client` against the wirestack server,
// for TLS 1.2 and 1.3, checking the bytes both ways and the close.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { connect, listen, tls, type Connection } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { exited, pemFiles, startServer, watch } from './openssl.js';

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
        await conn.send('hello from wirestack\n');
        await out.until('hello from wirestack', 'the client bytes');
        server.stdin.write('hello from openssl\n');
        let got = '';
        while (!got.includes('\n')) got += (await conn.receive())!.toString();
        expect(got).toBe('hello from openssl\n');
        await conn.close();
        // s_server answers our close_notify with its own, then ends.
        expect(await conn.receive()).toBe(null);
        expect(conn.tls!.peerClose).toBe('close_notify');
        expect(await exited(server)).toBe(0);
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
        client.stdin.write('hello from openssl\n');
        let got = '';
        while (!got.includes('\n')) got += (await conn.receive())!.toString();
        expect(got).toBe('hello from openssl\n');
        await conn.send('hello from wirestack\n');
        await out.until('hello from wirestack', 'the server bytes');
        // s_client sends close_notify when its input ends (without -quiet, which implies -ign_eof).
        client.stdin.end();
        expect(await conn.receive()).toBe(null);
        expect(conn.tls!.peerClose).toBe('close_notify');
        expect(await exited(client)).toBe(0);
        conn.destroy();
      } finally {
        client.kill();
        await listener.close();
      }
    });
  }
});

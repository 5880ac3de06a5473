// Interop with real OpenSSL peers on loopback: `openssl s_server` against
// the wirestack client and `openssl s_client` against the wirestack server,
// for TLS 1.2 and 1.3, checking the bytes both ways and the close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, tls, type Connection } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirestack-tls-'));
  writeFileSync(join(dir, 'ca.pem'), certs.ca.cert);
  writeFileSync(join(dir, 'server.pem'), certs.server.cert);
  writeFileSync(join(dir, 'server.key'), certs.server.key);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// openssl cannot listen on port 0 and tell us the port: take one the kernel
// says is free (a collision is retried by the caller).
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

// Collects a child's output and resolves when `text` has appeared in it.
function watch(child: ChildProcessWithoutNullStreams) {
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('latin1');
    for (const w of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return {
    get output() { return output; },
    until(text: string, what: string): Promise<void> {
      if (output.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        child.once('exit', () => setImmediate(() => reject(new Error(`openssl exited before ${what}:\n${output}`))));
      });
    },
  };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const VERSIONS = [['TLSv1.2', '-tls1_2'], ['TLSv1.3', '-tls1_3']] as const;

describe('interop: openssl s_server ↔ wirestack client', () => {
  for (const [version, flag] of VERSIONS) {
    it(version, async () => {
      let server!: ChildProcessWithoutNullStreams;
      let out!: ReturnType<typeof watch>;
      for (let attempt = 0; ; attempt++) {
        const port = await freePort();
        server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-naccept', '1', flag,
          '-cert', join(dir, 'server.pem'), '-key', join(dir, 'server.key')]);
        out = watch(server);
        try {
          await out.until('ACCEPT', 'accepting');
          (server as unknown as { port: number }).port = port;
          break;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
      const port = (server as unknown as { port: number }).port;
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
      const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, flag, '-CAfile', join(dir, 'ca.pem'),
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

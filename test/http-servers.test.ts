// Node's own HTTP servers fed by listen(), and Node's http2 client over a
// connection, each against a real peer: curl, Node's https and http2.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type Connection, type Filter, connect, listen, log, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { sha256 } from './helpers.js';

const certs = makeCertificates();
const scratch = mkdtempSync(join(tmpdir(), 'wirestack-http-'));
const caFile = join(scratch, 'ca.pem');
writeFileSync(caFile, certs.ca.cert);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const big = randomBytes(1024 * 1024);
const serverTls = (alpn: string[]): Filter => tls.server({ cert: certs.server.cert, key: certs.server.key, alpn });

function answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  res.end(req.url === '/big' ? big : `HTTP/${req.httpVersion} ${req.method} ${req.url}\n`);
}

/** A server of Node's fed by listen() over `filters`; HTTP/2 waits for the handshake so that ALPN is known. */
async function serve(server: http.Server | http2.Http2Server, filters: Filter[]) {
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, async (conn) => {
    if (server instanceof http.Server) {
      server.emit('connection', conn);
      return;
    }
    await conn.secured;
    server.emit('connection', conn);
  });
  const { port } = listener.address() as { port: number };
  return { port, close: async () => { server.close(); await listener.close({ drain: false }); } };
}

const curl = (args: string[]) =>
  promisify(execFile)('curl', ['--silent', '--show-error', '--cacert', caFile, ...args], { encoding: 'buffer', maxBuffer: 8 << 20, timeout: 30_000 });

describe('http.createServer() fed by listen() with a TLS stack serves HTTPS', () => {
  it('to curl: a page, and 1 MiB intact (SHA-256)', async () => {
    const served = await serve(http.createServer(answer), [serverTls(['http/1.1'])]);
    const page = await curl(['--write-out', '%{http_version}', `https://localhost:${served.port}/page`]);
    expect(page.stdout.toString()).toBe('HTTP/1.1 GET /page\n1.1');
    const body = await curl([`https://localhost:${served.port}/big`]);
    expect(sha256(body.stdout)).toBe(sha256(big));
    await served.close();
  });

  it('to Node\'s https client (no wirestack on that side), with a log layer under TLS on ours', async () => {
    const lines: string[] = [];
    const served = await serve(http.createServer(answer), [log({ format: 'summary', sink: (line: string) => lines.push(line) }), serverTls(['http/1.1'])]);
    const body = await new Promise<string>((resolve, reject) => {
      https.get({ host: 'localhost', port: served.port, path: '/node', ca: certs.ca.cert, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('HTTP/1.1 GET /node\n');
    await served.close();
    // Below TLS the log sees the records of the session.
    const logged = lines.join('\n');
    expect(logged).toMatch(/tls handshake/);
    expect(logged).toMatch(/tls application_data/);
  });
});

describe('http2.createServer() fed by listen() serves HTTP/2 after ALPN h2', () => {
  it('to curl --http2: a page and 1 MiB intact', async () => {
    const served = await serve(http2.createServer(answer), [serverTls(['h2'])]);
    const page = await curl(['--http2', '--write-out', '%{http_version}', `https://localhost:${served.port}/h2page`]);
    expect(page.stdout.toString()).toBe('HTTP/2.0 GET /h2page\n2');
    const body = await curl(['--http2', `https://localhost:${served.port}/big`]);
    expect(sha256(body.stdout)).toBe(sha256(big));
    await served.close();
  });
});

describe('http2.connect({ createConnection }) over a connection', () => {
  async function h2get(session: http2.ClientHttp2Session, path: string): Promise<Buffer> {
    const stream = session.request({ ':path': path });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('to Node\'s own http2.createSecureServer, several streams on one session, 1 MiB intact', async () => {
    const server = http2.createSecureServer({ cert: certs.server.cert, key: certs.server.key }, answer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const conn = await connect({ host: 'localhost', port }, [tls.client({ ca: certs.ca.cert, alpn: ['h2'] })]);
    await conn.secured;
    expect(conn.alpnProtocol).toBe('h2');
    const session = http2.connect(`https://localhost:${port}`, { createConnection: () => conn });
    const [one, two, large] = await Promise.all([h2get(session, '/one'), h2get(session, '/two'), h2get(session, '/big')]);
    expect(one.toString()).toBe('HTTP/2.0 GET /one\n');
    expect(two.toString()).toBe('HTTP/2.0 GET /two\n');
    expect(sha256(large)).toBe(sha256(big));
    await new Promise<void>((resolve) => session.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise((resolve) => (conn.closed ? resolve(undefined) : conn.once('close', resolve)));
  });

  it('to http2.createServer() fed by listen(): wirestack on both ends', async () => {
    const served = await serve(http2.createServer(answer), [serverTls(['h2'])]);
    const conn: Connection = await connect({ host: 'localhost', port: served.port }, [tls.client({ ca: certs.ca.cert, alpn: ['h2'] })]);
    const session = http2.connect(`https://localhost:${served.port}`, { createConnection: () => conn });
    expect((await h2get(session, '/both')).toString()).toBe('HTTP/2.0 GET /both\n');
    await new Promise<void>((resolve) => session.close(() => resolve()));
    await served.close();
  });
});

describe('the examples run as written (against the build)', () => {
  const root = join(import.meta.dirname, '..');
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const run = (file: string) => promisify(execFile)(tsx, [join(root, 'examples', file)], { cwd: root, timeout: 30_000 });

  it('examples/https-server.ts: three requests over one pooled TLS connection', async () => {
    const { stdout } = await run('https-server.ts');
    expect(stdout).toBe('GET /one over TLSv1.3\nGET /two over TLSv1.3\nGET /three over TLSv1.3\nconnections accepted: 1\n');
  });

  it('examples/http2-server.ts: HTTP/2 to http2.connect() and to fetch', async () => {
    const { stdout } = await run('http2-server.ts');
    expect(stdout).toBe('HTTP/2.0 /from-http2-connect\nHTTP/2.0 /from-fetch\n');
  });
});

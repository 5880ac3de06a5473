import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetch as undiciFetch, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Filter, type Listener, dispatcher, listen, meter, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { expectNothingLeft, failure, openResources, refusingPort, resettingServer, wirestackCode } from './connectors.js';
import { sha256 } from './helpers.js';

const certs = makeCertificates();
const serverTls = (alpn: string[]): Filter => tls.server({ cert: certs.server.cert, key: certs.server.key, alpn });
const clientTls = (): Filter => tls.client({ ca: certs.ca.cert, alpn: ['h2', 'http/1.1'] });
const root = join(import.meta.dirname, '..');

// 1 MiB of random bytes, served at /big; any other path answers with the HTTP version.
const big = randomBytes(1024 * 1024);
function answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  res.end(req.url === '/big' ? big : `HTTP/${req.httpVersion} ${req.url}`);
}

interface Served {
  listener: Listener;
  url: string;
  accepted: () => number;
  // The ALPN protocol of each connection accepted (undefined without TLS).
  alpn: Array<string | false | null | undefined>;
}
const servers: Array<{ close(): unknown }> = [];

async function serve(filters: Filter[], kind: 'h1' | 'h2', scheme: 'http' | 'https'): Promise<Served> {
  let accepted = 0;
  const alpn: Served['alpn'] = [];
  const server = kind === 'h1' ? http.createServer(answer) : http2.createServer(answer);
  // HTTP/2 starts once ALPN has said h2; HTTP/1.1 can take the connection at once.
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, async (conn) => {
    accepted++;
    if (conn.encrypted) await conn.secured;
    alpn.push(conn.alpnProtocol);
    server.emit('connection', conn);
  });
  listener.on('connectionError', () => {});
  servers.push({ close: () => server.close() }, { close: () => listener.close({ drain: false }) });
  const { port } = listener.address() as { port: number };
  return { listener, url: `${scheme}://localhost:${port}`, accepted: () => accepted, alpn };
}

let h1s: Served;
let h2s: Served;
let plain: Served;
beforeAll(async () => {
  h1s = await serve([serverTls(['http/1.1'])], 'h1', 'https');
  h2s = await serve([serverTls(['h2'])], 'h2', 'https');
  plain = await serve([meter()], 'h1', 'http');
});
afterAll(async () => {
  for (const server of servers) await server.close();
});

describe('dispatcher(): undici over stacks', () => {
  it('undici\'s fetch over HTTP/1.1 and, where ALPN says h2, HTTP/2; one connection per origin, reused', async () => {
    const via = dispatcher([clientTls()]);
    // undici marks a connection free again a tick after its response ends.
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    expect(await (await undiciFetch(`${h1s.url}/a`, { dispatcher: via })).text()).toBe('HTTP/1.1 /a');
    await tick();
    expect(await (await undiciFetch(`${h1s.url}/b`, { dispatcher: via })).text()).toBe('HTTP/1.1 /b');
    expect(await (await undiciFetch(`${h2s.url}/c`, { dispatcher: via })).text()).toBe('HTTP/2.0 /c');
    await tick();
    expect(await (await undiciFetch(`${h2s.url}/d`, { dispatcher: via })).text()).toBe('HTTP/2.0 /d');
    expect(h1s.accepted()).toBe(1);
    expect(h2s.accepted()).toBe(1);
    expect(h1s.alpn).toEqual(['http/1.1']);
    expect(h2s.alpn).toEqual(['h2']);
    await via.close();
  });

  it('1 MiB arrives intact over both protocols (SHA-256)', async () => {
    const via = dispatcher([clientTls()]);
    for (const served of [h1s, h2s]) {
      const body = Buffer.from(await (await undiciFetch(`${served.url}/big`, { dispatcher: via })).arrayBuffer());
      expect(sha256(body)).toBe(sha256(big));
    }
    await via.close();
  });

  it('Node\'s global fetch takes the dispatcher too, over HTTP/1.1 and HTTP/2', async () => {
    const via = dispatcher([clientTls()]);
    // Node's fetch is another copy of undici: it runs this dispatcher, but its types are not undici 7's.
    const viaGlobal = via as unknown as RequestInit['dispatcher'];
    expect(await (await fetch(`${h1s.url}/e`, { dispatcher: viaGlobal })).text()).toBe('HTTP/1.1 /e');
    expect(await (await fetch(`${h2s.url}/f`, { dispatcher: viaGlobal })).text()).toBe('HTTP/2.0 /f');
    await via.close();
  });

  it('undici\'s request() and a plain http: origin over a stack without TLS', async () => {
    const via: Dispatcher = dispatcher([meter()]);
    const res = await request(`${plain.url}/g`, { dispatcher: via });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('HTTP/1.1 /g');
    expect(plain.alpn.at(-1)).toBeUndefined();
    await via.close();
  });

  it('a stack made per origin gets its host and server name', async () => {
    const seen: string[] = [];
    const via = dispatcher((target) => {
      seen.push(`${target.protocol}//${target.host}:${target.port} ${target.servername}`);
      return [clientTls()];
    });
    await (await undiciFetch(`${h1s.url}/h`, { dispatcher: via })).text();
    const port = new URL(h1s.url).port;
    expect(seen).toEqual([`https://localhost:${port} localhost`]);
    await via.close();
  });

  it('an https: origin whose stack makes no TLS layer fails rather than send in clear', async () => {
    const via = dispatcher([meter()]);
    const err = await failure(undiciFetch(`${h1s.url}/never`, { dispatcher: via }));
    expect(err).toBeInstanceOf(TypeError);
    expect(wirestackCode(err)).toBe('ERR_WIRESTACK_INVALID_ARGUMENT');
    await via.close();
  });

  it('without undici installed, dispatcher() throws ERR_WIRESTACK_PEER_MISSING (the built package)', async () => {
    // Hides undici from require() the way a project without it would see it.
    const hide = `const M = require('node:module'); const resolve = M._resolveFilename;
      M._resolveFilename = function (request, ...rest) {
        if (request === 'undici') throw Object.assign(new Error("Cannot find module 'undici'"), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };`;
    const script = `
      import { dispatcher, meter } from 'wirestack';
      try { dispatcher([meter()]); console.log('no error'); } catch (err) { console.log(err.code, err.message); }
    `;
    const preload = join(root, 'test', '.hide-undici.cjs');
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(preload, hide);
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--require', preload, '--input-type=module', '-e', script], { cwd: root });
      expect(stdout.trim()).toBe('ERR_WIRESTACK_PEER_MISSING dispatcher() needs the undici package: npm install undici@7');
    } finally {
      rmSync(preload, { force: true });
    }
  });
});

describe('dispatcher(): bad input reaches fetch as its error, our code in cause, and leaves nothing open', () => {
  it('a refused connection: ERR_WIRESTACK_CONNECT', async () => {
    const before = openResources();
    const port = await refusingPort();
    const via = dispatcher([meter()]);
    const err = await failure(undiciFetch(`http://127.0.0.1:${port}/`, { dispatcher: via }));
    expect(err).toBeInstanceOf(TypeError);
    expect(wirestackCode(err)).toBe('ERR_WIRESTACK_CONNECT');
    await via.close();
    await expectNothingLeft(before);
  });

  it('a failed handshake: ERR_WIRESTACK_TLS_UNKNOWN_CA', async () => {
    const before = openResources();
    const stranger = makeCertificates({ label: 'another PKI' });
    const via = dispatcher([tls.client({ ca: stranger.ca.cert })]);
    const err = await failure(undiciFetch(`${h1s.url}/`, { dispatcher: via }));
    expect(err).toBeInstanceOf(TypeError);
    expect(wirestackCode(err)).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    await via.close();
    await expectNothingLeft(before);
  });

  for (const secure of [false, true]) {
    it(`a peer that resets mid-response${secure ? ' (over TLS)' : ''}: ERR_WIRESTACK_TRANSPORT`, async () => {
      const { listener, port } = await resettingServer(secure ? [serverTls(['http/1.1'])] : []);
      const before = openResources();
      const via = dispatcher(secure ? [clientTls()] : [meter()]);
      const res = await undiciFetch(`${secure ? 'https' : 'http'}://localhost:${port}/`, { dispatcher: via });
      expect(res.status).toBe(200);
      const err = await failure(res.text());
      expect(err).toBeInstanceOf(TypeError);
      expect(wirestackCode(err)).toBe('ERR_WIRESTACK_TRANSPORT');
      await via.close();
      await listener.close({ drain: false });
      await expectNothingLeft(before);
    });
  }
});

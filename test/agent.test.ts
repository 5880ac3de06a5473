import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { type Connection, agent, meter, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { expectNothingLeft, failure, get, openResources, refusingPort, resettingServer, serveHttp, wirestackCode } from './connectors.js';

const certs = makeCertificates();
const serverTls = () => tls.server({ cert: certs.server.cert, key: certs.server.key });
const root = join(import.meta.dirname, '..');

// A server that answers 'ok', except at `path`, where it holds the response (kept in `held`) unanswered.
async function serveHolding(path: string) {
  const held = new Set<http.ServerResponse>();
  const served = await serveHttp([], (req, res) => {
    if (req.url === path) held.add(res);
    else res.end('ok');
  });
  return { served, held };
}

describe('agent(): Node\'s http client over stacks', () => {
  it('the issue\'s keep-alive agent, written with agent(): 20 requests on one connection, in a process that then exits by itself', async () => {
    let accepted = 0;
    const served = await serveHttp([meter()], (req, res) => res.end(`got ${req.url}`));
    served.listener.on('connectionError', () => {});
    served.server.on('connection', () => { accepted++; });
    // The client runs in a process of its own, from the built package: it
    // must neither crash after a response (the issue) nor be held open by
    // the pooled connection (unref'd while idle).
    const script = `
      import http from 'node:http';
      import { agent, meter } from 'wirestack';
      const pooled = agent([meter()]);
      const sockets = new Set();
      for (let i = 1; i <= 20; i++) {
        const body = await new Promise((resolve, reject) => {
          http.get({ host: '127.0.0.1', port: ${served.port}, path: '/' + i, agent: pooled }, (res) => {
            sockets.add(res.socket);
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve(text));
          }).on('error', reject);
        });
        if (body !== 'got /' + i) throw new Error('wrong body: ' + body);
      }
      const [conn] = sockets;
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify({ sockets: sockets.size, free: Object.values(pooled.freeSockets).flat().length, layers: conn.layers.map((l) => l.name), bytesRead: conn.bytesRead }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 30_000 });
    const report = JSON.parse(stdout) as { sockets: number; free: number; layers: string[]; bytesRead: number };
    expect(report.sockets).toBe(1);
    expect(report.free).toBe(1);
    expect(report.layers).toEqual(['meter']);
    expect(report.bytesRead).toBeGreaterThan(20 * 'got /1'.length);
    expect(accepted).toBe(1);
    await served.close();
  });

  it('pools: the idle connection is unref\'d and kept, then ref\'d again for the next request', async () => {
    let handle: { hasRef(): boolean } | undefined;
    const refWhileServed: boolean[] = [];
    const served = await serveHttp([], (_req, res) => {
      if (handle) refWhileServed.push(handle.hasRef());
      res.end('ok');
    });
    const pooled = agent([]);
    const first = await get({ host: '127.0.0.1', port: served.port, path: '/', agent: pooled });
    const conn = first.socket as Connection;
    handle = (conn.raw.stream as unknown as { _handle: { hasRef(): boolean } })._handle;
    await new Promise((resolve) => setImmediate(resolve));
    expect(handle.hasRef()).toBe(false);
    const second = await get({ host: '127.0.0.1', port: served.port, path: '/', agent: pooled });
    expect(second.socket).toBe(conn);
    expect(refWhileServed).toEqual([true]);
    pooled.destroy();
    await served.close();
  });

  it('is an https.Agent when the stack has TLS: SNI and the certificate check use the request\'s server name', async () => {
    const served = await serveHttp([serverTls()], (req, res) => res.end(`secure=${(req.socket as unknown as Connection).encrypted}`));
    // Known by the filter's mark, not its name.
    const pooled = agent([tls.client({ ca: certs.ca.cert, name: 'upstream-tls' })]);
    expect(pooled).toBeInstanceOf(https.Agent);
    // By name: the host name is the server name.
    const byName = await get({ host: 'localhost', port: served.port, path: '/', agent: pooled }, true);
    expect(byName.body).toBe('secure=true');
    expect((byName.socket as unknown as Connection).encrypted).toBe(true);
    // The agent hands Node a socket still connecting; OpenSSL still gets its handle (the native path).
    expect((byName.socket as unknown as Connection).tls!.path).toBe('native');
    // By address, with the name given as `servername`.
    const byAddress = await get({ host: '127.0.0.1', port: served.port, path: '/', agent: pooled, servername: 'localhost' }, true);
    expect(byAddress.status).toBe(200);
    // A name the certificate does not carry is refused.
    const wrongName = await failure(get({ host: '127.0.0.1', port: served.port, path: '/', agent: pooled, servername: 'example.com' }, true));
    expect(wirestackCode(wrongName)).toBe('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH');
    pooled.destroy();
    await served.close();
  });

  it('a stack made per request takes the request\'s ca and rejectUnauthorized', async () => {
    const served = await serveHttp([serverTls()], (_req, res) => res.end('ok'));
    const perRequest = agent((target) => [tls.client({
      ...(target.ca === undefined ? {} : { ca: target.ca as string }),
      ...(target.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: target.rejectUnauthorized }),
    })], { protocol: 'https:' });
    const at = { host: 'localhost', port: served.port, path: '/', agent: perRequest };
    expect((await get({ ...at, ca: certs.ca.cert }, true)).body).toBe('ok');
    expect((await get({ ...at, rejectUnauthorized: false }, true)).body).toBe('ok');
    const untrusted = await failure(get(at, true));
    expect(wirestackCode(untrusted)).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    perRequest.destroy();
    await served.close();
  });

  it('refuses a protocol other than http: and https:', () => {
    expect(() => agent([], { protocol: 'ftp:' as 'http:' })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
  });

  it('an https: request whose stack makes no TLS layer fails before a byte is sent', async () => {
    let received = 0;
    const sink = net.createServer((socket) => socket.on('data', (chunk: Buffer) => { received += chunk.length; }));
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const { port } = sink.address() as net.AddressInfo;
    const misconfigured = agent(() => [meter()], { protocol: 'https:' });
    const err = await failure(get({ host: '127.0.0.1', port, path: '/secret', agent: misconfigured }, true));
    expect(err.code).toBe('ERR_WIRESTACK_INVALID_ARGUMENT');
    expect(err.message).toMatch(/no TLS layer/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toBe(0);
    misconfigured.destroy();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  it('maxSockets holds: 6 requests at once over at most 2 connections', async () => {
    let accepted = 0;
    const served = await serveHttp([], (req, res) => setImmediate(() => res.end(req.url)));
    served.server.on('connection', () => { accepted++; });
    const limited = agent([meter()], { maxSockets: 2 });
    const bodies = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => get({ host: '127.0.0.1', port: served.port, path: `/${i}`, agent: limited })));
    expect(bodies.map((b) => b.body)).toEqual(['/1', '/2', '/3', '/4', '/5', '/6']);
    expect(accepted).toBe(2);
    limited.destroy();
    await served.close();
  });

  it('timeouts: the agent\'s closes an idle pooled connection; a request\'s fires \'timeout\' on a silent server', async () => {
    const { served } = await serveHolding('/silent');
    const short = agent([], { timeout: 100 });
    const got = await get({ host: '127.0.0.1', port: served.port, path: '/', agent: short });
    const conn = got.socket as Connection;
    expect(conn.timeout).toBe(100);
    await new Promise((resolve) => conn.once('close', resolve));
    expect(Object.values(short.freeSockets).flat()).toHaveLength(0);

    const timedOut = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: served.port, path: '/silent', agent: short, timeout: 50 });
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.on('response', () => reject(new Error('a response from a silent server')));
      req.on('error', () => {});
    });
    expect(timedOut).toBe('timeout');
    short.destroy();
    await served.close();
  });

  it('agent.destroy() closes pooled and busy connections alike', async () => {
    const { served, held } = await serveHolding('/hold');
    const pooled = agent([meter()]);
    const busy = failure(get({ host: '127.0.0.1', port: served.port, path: '/hold', agent: pooled }));
    await vi.waitFor(() => expect(held.size).toBe(1));
    await get({ host: '127.0.0.1', port: served.port, path: '/', agent: pooled });
    expect(served.listener.connections.size).toBe(2);
    expect(Object.values(pooled.freeSockets).flat()).toHaveLength(1);
    pooled.destroy();
    await busy;
    await vi.waitFor(() => expect(served.listener.connections.size).toBe(0));
    await served.close();
  });
});

describe('agent(): bad input reaches the request as its error, with our code, and leaves nothing open', () => {
  it('a refused connection: ERR_WIRESTACK_CONNECT, ECONNREFUSED in cause', async () => {
    const before = openResources();
    const port = await refusingPort();
    const pooled = agent([meter()]);
    const err = await failure(get({ host: '127.0.0.1', port, path: '/', agent: pooled }));
    expect(err.code).toBe('ERR_WIRESTACK_CONNECT');
    expect((err.cause as { code?: string }).code).toBe('ECONNREFUSED');
    pooled.destroy();
    await expectNothingLeft(before);
  });

  it('a failed handshake (a CA that does not know the server): ERR_WIRESTACK_TLS_UNKNOWN_CA', async () => {
    const served = await serveHttp([serverTls()], (_req, res) => res.end('never'));
    served.listener.on('connectionError', () => {});
    const before = openResources();
    const stranger = makeCertificates({ label: 'another PKI' });
    const pooled = agent([tls.client({ ca: stranger.ca.cert })]);
    const err = await failure(get({ host: 'localhost', port: served.port, path: '/', agent: pooled }, true));
    expect(wirestackCode(err)).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    pooled.destroy();
    await vi.waitFor(() => expect(served.listener.connections.size).toBe(0));
    await served.close();
    await expectNothingLeft(before);
  });

  it('a stack function that throws: the request fails with the error in cause, no socket opened', async () => {
    const before = openResources();
    const broken = agent(() => { throw new Error('no stack today'); });
    const err = await failure(get({ host: '127.0.0.1', port: await refusingPort(), path: '/', agent: broken }));
    expect(err.code).toBe('ERR_WIRESTACK_LAYER');
    expect((err.cause as Error).message).toBe('no stack today');
    broken.destroy();
    await expectNothingLeft(before);
  });

  for (const secure of [false, true]) {
    it(`a peer that resets mid-response${secure ? ' (over TLS)' : ''}: ERR_WIRESTACK_TRANSPORT, ECONNRESET in cause`, async () => {
      const { listener, port } = await resettingServer(secure ? [serverTls()] : []);
      const before = openResources();
      const pooled = agent(secure ? [tls.client({ ca: certs.ca.cert })] : [meter()]);
      const err = await failure(get({ host: 'localhost', port, path: '/', agent: pooled }, secure));
      expect(wirestackCode(err)).toBe('ERR_WIRESTACK_TRANSPORT');
      expect((err.cause as { code?: string }).code).toBe('ECONNRESET');
      pooled.destroy();
      await listener.close({ drain: false });
      await expectNothingLeft(before);
    });
  }
});

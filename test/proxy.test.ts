// The testing proxy (wirestack/testing's proxy()) between real clients and
// real servers on loopback: a Node http server, TCP servers, openssl
// s_server. Each fault is checked by its effect on the client (latency as
// a lower bound, a throttled rate as an upper bound, a reset seen with its
// code, bytes cut at the limit, a stall that lets go when removed), set and
// removed while connections are open without dropping the others; and bad
// input gets a coded error while the proxy keeps serving.
import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, createServer as createHttpServer } from 'node:http';
import type { Server, Socket } from 'node:net';
import { connect, meter, tls, type Connection, type MeterLayer } from '../lib/index.js';
import { makeCertificates, proxy, type Proxy } from '../lib/testing/index.js';
import { exited, freePort, pemFiles, startServer } from './openssl.js';
import { roundTrip, tcpClient, tcpServer } from './sockets.js';

const certs = makeCertificates();
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const LOCAL = { host: '127.0.0.1', port: 0 };

// Everything a test opened, closed after it whatever happened.
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A server closed after the test.
async function server(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const made = await tcpServer(onSocket);
  cleanups.push(() => new Promise((resolve) => made.server.close(resolve)));
  return made;
}

// Echoes, and ends after the client's end.
const echoServer = (): Promise<{ server: Server; port: number }> => server((socket) => socket.pipe(socket));

async function startProxy(options: Parameters<typeof proxy>[0]): Promise<{ p: Proxy; port: number }> {
  const p = await proxy(options);
  cleanups.push(() => p.close());
  return { p, port: (p.address() as { port: number }).port };
}

async function client(port: number): Promise<Socket> {
  const socket = await tcpClient(port);
  cleanups.push(() => socket.destroy());
  return socket;
}

// Everything a socket receives until its end (or its error, which rejects with the bytes so far).
function receiveAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', (err) => reject(Object.assign(err, { received: Buffer.concat(chunks) })));
  });
}

describe('relaying', () => {
  it('a Node http server through the proxy: a GET and a 4 MiB POST echoed, bytes unchanged (SHA-256)', async () => {
    const server = createHttpServer((req, res) => {
      if (req.method === 'GET') return void res.end('hello through the proxy');
      req.pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: (server.address() as { port: number }).port } });
    const fetched = await fetch(`http://127.0.0.1:${port}/`);
    expect(await fetched.text()).toBe('hello through the proxy');
    const body = randomBytes(4 * 1024 * 1024);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/echo', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
      });
      req.on('error', reject).end(body);
    });
    expect(sha256(echoed)).toBe(sha256(body));
    expect(p.connections.length).toBeLessThanOrEqual(2);   // fetch's keep-alive connection may still be open
  });

  it('TLS ended and begun by the proxy: a client with our CA, through to openssl s_server; a delay acts on the plaintext', async () => {
    const pem = pemFiles({ 'server.pem': certs.server.cert, 'server.key': certs.server.key });
    cleanups.push(() => pem.remove());
    const { server, out, port: targetPort } = await startServer(['-cert', pem.path('server.pem'), '-key', pem.path('server.key')]);
    cleanups.push(() => server.kill());
    const { p, port } = await startProxy({
      listen: LOCAL,
      target: { host: 'localhost', port: targetPort },
      downstream: [tls.server(certs.server)],
      upstream: [tls.client({ ca: certs.ca.cert })],
    });
    p.set({ delay: 100 }, 'downstream');
    const conn = await connect({ host: 'localhost', port }, [tls.client({ ca: certs.ca.cert })]);
    expect((await conn.secured).authorized).toBe(true);
    await conn.send('hello s_server\n');
    await out.until('hello s_server', 'the client bytes');
    const started = performance.now();
    server.stdin.write('hello client\n');
    expect((await conn.receive())!.toString()).toBe('hello client\n');
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    await conn.close();
    expect(await conn.receive()).toBe(null);
    expect(await exited(server)).toBe(0);
  });
});

describe('each fault, by its effect', () => {
  it('delay: each way adds at least its latency to a round trip; with jitter, order is kept', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo }, seed: 7 });
    const socket = await client(port);
    p.set({ delay: 60 }, 'upstream');
    p.set({ delay: { ms: 40, jitter: 30 } }, 'downstream');
    for (let i = 0; i < 3; i++) expect(await roundTrip(socket)).toBeGreaterThanOrEqual(60 + 10 - 1);
    // Jitter never reorders: a burst of numbered lines comes back in order.
    const lines = Array.from({ length: 50 }, (_, i) => `${i}\n`).join('');
    const back: Buffer[] = [];
    socket.on('data', (c: Buffer) => back.push(c));
    for (const line of lines.split(/(?<=\n)/)) socket.write(line);
    await expect.poll(() => Buffer.concat(back).length, { timeout: 5000 }).toBe(lines.length);
    expect(Buffer.concat(back).toString()).toBe(lines);
  });

  it('throttle: a download runs at no more than the rate (upper bound), and arrives whole', async () => {
    const download = randomBytes(150_000);
    const { port: source } = await server((socket) => socket.end(download));
    const rate = 500_000;
    const { port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: source }, faults: { throttle: rate } });
    const started = performance.now();
    const received = await receiveAll(await client(port));
    const seconds = (performance.now() - started) / 1000;
    expect(sha256(received)).toBe(sha256(download));
    expect(received.length / seconds).toBeLessThanOrEqual(rate * 1.05);
  });

  it('limit: the client gets exactly the bytes up to the limit, then a clean end', async () => {
    const { port: source } = await server((socket) => socket.end(randomBytes(100_000)));
    const { port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: source }, faults: { limit: 12_345 } });
    expect((await receiveAll(await client(port))).length).toBe(12_345);
  });

  it('resetAfter: the client gets the bytes before it, then ECONNRESET; a wirestack client says ERR_WIRESTACK_TRANSPORT', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo }, faults: { resetAfter: 5000 } });
    const errors: string[] = [];
    p.on('connectionError', (err: { code: string }) => errors.push(err.code));
    // The clients are still sending when the reset comes: a client that only
    // receives may see it as an end on Linux, where libuv reports a reset
    // after the peer's FIN flag as EOF (docs/proxy.md, "From a test").
    const socket = await client(port);
    const failed = receiveAll(socket).then(() => null, (err: Error & { code: string; received: Buffer }) => err);
    socket.write(randomBytes(20_000));
    expect((await failed)?.code).toBe('ECONNRESET');
    expect((await failed)!.received.length).toBeLessThanOrEqual(5000);
    const conn = await connect({ host: '127.0.0.1', port });
    const sent = conn.send(randomBytes(20_000)).catch(() => {});
    const error = await (async () => {
      while ((await conn.receive()) !== null);
    })().then(() => null, (err: { code: string }) => err);
    await sent;
    expect(error).toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
    expect(errors).toEqual(['ERR_WIRESTACK_FAULT', 'ERR_WIRESTACK_FAULT']);
  });

  it('stallAfter: nothing past the count, no end; removing the fault lets every held byte go, in order', async () => {
    const download = randomBytes(200_000);
    const { port: source } = await server((socket) => socket.end(download));
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: source }, faults: { stallAfter: 1000 } });
    const socket = await client(port);
    const whole = receiveAll(socket);
    let got = 0;
    socket.on('data', (c: Buffer) => { got += c.length; });
    await expect.poll(() => got).toBe(1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got).toBe(1000);
    p.set({});
    expect(sha256(await whole)).toBe(sha256(download));
  });

  it('fragment: each piece is its own write toward the client (counted below its stack), bytes unchanged', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo }, downstream: [meter({ name: 'wire' })] });
    p.set({ fragment: [1, 7] }, 'downstream');
    const relayed = once(p, 'connection');
    const socket = await client(port);
    const [pc] = (await relayed) as [{ downstream: Connection }];
    const whole = receiveAll(socket);
    socket.end('a message of forty bytes, give or take.\n');
    expect((await whole).toString()).toBe('a message of forty bytes, give or take.\n');
    // 40 bytes in pieces of 1 and 7 in turn: 10 writes (1+7+1+7+1+7+1+7+1+7).
    expect((pc.downstream.layer('wire') as MeterLayer).reading().chunksOut).toBe(10);
  });
});

describe('changed while connections are open', () => {
  it('a delay set and cleared acts on two open connections at once, and drops neither', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo } });
    const [a, b] = [await client(port), await client(port)];
    p.set({ delay: 80 });
    for (const socket of [a, b]) expect(await roundTrip(socket)).toBeGreaterThanOrEqual(159);
    p.set({});
    const quick = await Promise.all([roundTrip(a), roundTrip(b)]);
    expect(quick.every((ms) => ms < 159)).toBe(true);
    expect(p.connections.length).toBe(2);
  });

  it('a reset on one connection leaves the other open; a toxic added by name, updated, then removed', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo } });
    const [big, small] = [await client(port), await client(port)];
    p.addToxic({ name: 'cut', type: 'reset_after', stream: 'upstream', attributes: { bytes: 1000 } });
    const bigFailed = receiveAll(big).catch((err: { code: string }) => err.code);
    big.write(randomBytes(5000));
    expect(await bigFailed).toBe('ECONNRESET');
    expect(await roundTrip(small)).toBeGreaterThanOrEqual(0);
    expect(p.updateToxic('cut', { attributes: { bytes: 2000 } }).attributes).toEqual({ bytes: 2000 });
    expect(p.removeToxic('cut')).toBe(true);
    small.write(randomBytes(3000));
    await expect.poll(() => small.bytesRead, { timeout: 5000 }).toBeGreaterThanOrEqual(3001);
    expect(p.connections.map((c) => c.id)).toEqual([2]);
  });

  it('disable drops the open connections and refuses new ones; enable listens again on the same port', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo } });
    const open = await client(port);
    const ended = receiveAll(open).then(() => 'ended', () => 'ended');
    await p.disable();
    expect(await ended).toBe('ended');
    expect(p.enabled).toBe(false);
    await expect(client(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await p.enable();
    expect((p.address() as { port: number }).port).toBe(port);
    expect(await roundTrip(await client(port))).toBeGreaterThanOrEqual(0);
  });
});

describe('bad input: a clear error, and the proxy keeps serving', () => {
  it('an unknown toxic, a bad attribute, an unknown fault: ERR_WIRESTACK_INVALID_ARGUMENT, nothing changed', async () => {
    const { port: echo } = await echoServer();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo } });
    const socket = await client(port);
    expect(() => p.addToxic({ type: 'earthquake' })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT', message: expect.stringMatching(/^invalid toxic type "earthquake"/) }));
    expect(() => p.addToxic({ type: 'latency', attributes: { latency: -5 } })).toThrow(/attributes\.latency must be a whole number ≥ 0, got -5/);
    expect(() => p.addToxic({ type: 'latency', attributes: { latancy: 5 } })).toThrow(/latency has no attribute "latancy" \(its attributes: latency, jitter\)/);
    expect(() => p.addToxic({ type: 'latency', stream: 'sideways' })).toThrow(/stream was invalid, can be either upstream or downstream/);
    expect(() => p.set({ dealy: 5 } as never)).toThrow(/unknown fault "dealy"/);
    p.addToxic({ type: 'latency' });
    expect(() => p.addToxic({ type: 'latency' })).toThrow(/toxic already exists: latency_downstream/);
    expect(p.toxics.map((t) => t.name)).toEqual(['latency_downstream']);
    expect(await roundTrip(socket)).toBeGreaterThanOrEqual(0);
  });

  it('the target down: the client is closed, the failure reported with ERR_WIRESTACK_CONNECT; a new target serves', async () => {
    const downPort = await freePort();
    const { p, port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: downPort } });
    const errors: Array<{ code: string }> = [];
    p.on('connectionError', (err: { code: string }) => errors.push(err));
    const first = await client(port);
    await receiveAll(first).catch(() => Buffer.alloc(0));
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_WIRESTACK_CONNECT', message: expect.stringContaining('ECONNREFUSED') })]);
    const { port: echo } = await echoServer();
    await p.update({ target: { host: '127.0.0.1', port: echo } });
    expect(await roundTrip(await client(port))).toBeGreaterThanOrEqual(0);
  });

  it('a port already taken: proxy() rejects with ERR_WIRESTACK_LISTEN; the proxy that has it keeps serving', async () => {
    const { port: echo } = await echoServer();
    const { port } = await startProxy({ listen: LOCAL, target: { host: '127.0.0.1', port: echo } });
    await expect(proxy({ listen: { host: '127.0.0.1', port }, target: { host: '127.0.0.1', port: echo } }))
      .rejects.toMatchObject({ code: 'ERR_WIRESTACK_LISTEN', message: expect.stringContaining('EADDRINUSE') });
    expect(await roundTrip(await client(port))).toBeGreaterThanOrEqual(0);
  });
});

// Faults on real sockets (127.0.0.1, port 0): resets, truncation, half-open
// peers, slow readers, and TLS handshakes that go wrong; each ends in the
// expected code, with the socket closed.
import net from 'node:net';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Connection, type Filter, type Listener, connect, deflate, identity, listen, tls } from '../lib/index.js';
import { Random, fault, makeCertificates } from '../lib/testing/index.js';
import { sha256, sleep, whenClosed } from './helpers.js';

const certs = makeCertificates();
// Options per TLS engine; forge speaks TLS 1.0 and 1.1 only.
const ENGINES = { node: {}, forge: { engine: 'forge', minVersion: 'TLSv1' } } as const;
type Engine = keyof typeof ENGINES;
const tlsServer = (extra: object = {}, engine: Engine = 'node'): Filter => tls.server({ ...certs.server, ...ENGINES[engine], ...extra });
const tlsClient = (extra: object = {}, engine: Engine = 'node'): Filter => tls.client({ ca: certs.ca.cert, ...ENGINES[engine], ...extra });

// A wirestack listener whose accepted connections are handed out one by one.
async function server(filters: Filter[], onConnection: (conn: Connection) => void | Promise<void> = () => {}) {
  const errors: Array<{ code: string }> = [];
  const listener: Listener = await listen({ host: '127.0.0.1', port: 0 }, filters, onConnection);
  listener.on('connectionError', (err: { code: string }) => errors.push(err));
  const port = (listener.address() as { port: number }).port;
  return { listener, port, errors };
}

// A plain TCP server playing a misbehaving peer.
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<{ port: number; close: () => Promise<void>; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => srv.close(() => resolve()));
    },
  };
}

async function readAll(conn: Connection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let c = await conn.receive(); c !== null; c = await conn.receive()) chunks.push(c);
  return Buffer.concat(chunks);
}

// Writes `total` bytes as fast as backpressure allows; resolves with what was accepted or the error.
async function writeFlat(conn: Connection, data: Buffer): Promise<unknown> {
  try {
    for (let i = 0; i < data.length; i += 64 * 1024) await conn.send(data.subarray(i, i + 64 * 1024));
    await conn.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('faults on plain TCP', () => {
  it('reset mid-transfer: the writer gets ERR_WIRESTACK_TRANSPORT, the resetting end ERR_WIRESTACK_FAULT', async () => {
    const s = await server([fault({ resetAt: 200_000 })], async (conn) => void (await readAll(conn).catch(() => null)));
    const client = await connect({ host: '127.0.0.1', port: s.port }, [identity()]);
    const err = await writeFlat(client, new Random(1).bytes(8 << 20));
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
    await whenClosed(client);
    expect(client.raw.stream.destroyed).toBe(true);
    expect(s.errors.map((e) => e.code)).toContain('ERR_WIRESTACK_FAULT');
    await s.listener.close({ drain: false });
  });

  it('truncation: a message cut short by a FIN is ERR_WIRESTACK_EOF with the partial bytes', async () => {
    const s = await server([fault({ truncateAt: 1000, direction: 'out' })], async (conn) => {
      const body = Buffer.alloc(5000, 7);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length);
      await conn.send(Buffer.concat([header, body]));
    });
    const client = await connect({ host: '127.0.0.1', port: s.port });
    const length = (await client.receiveExactly(4)).readUInt32BE(0);
    const err = await client.receiveExactly(length).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_EOF' });
    expect((err as { partial: Buffer }).partial.length).toBe(996);
    client.destroy();
    await s.listener.close({ drain: false });
  });

  it('half-open peer: after our FIN the peer keeps sending and every byte arrives', async () => {
    const data = new Random(2).bytes(4 << 20);
    const s = await server([identity()], async (conn) => {
      expect(await readAll(conn)).toEqual(Buffer.from('bye'));
      for (let i = 0; i < data.length; i += 100_000) await conn.send(data.subarray(i, i + 100_000));
      await conn.close();
    });
    const client = await connect({ host: '127.0.0.1', port: s.port }, [identity()]);
    await client.send('bye');
    await client.close();
    expect(sha256(await readAll(client))).toBe(sha256(data));
    await whenClosed(client);
    await s.listener.close();
  });

  it('half-open peer that never reads: the writer is held back, memory bounded by the high-water marks', async () => {
    const peer = await rawServer((socket) => socket.pause());
    const client = await connect({ host: '127.0.0.1', port: peer.port }, [identity(), identity('identity-2')]);
    let accepted = 0;
    const chunk = Buffer.alloc(64 * 1024);
    // Write until backpressure holds for a while: the kernel buffers fill, then the stack's.
    for (let idle = 0; idle < 5;) {
      if (!client.writableNeedDrain) {
        client.write(chunk);
        accepted += chunk.length;
        continue;
      }
      const drained = await Promise.race([new Promise((r) => client.once('drain', () => r(true))), sleep(100).then(() => false)]);
      idle = drained ? 0 : idle + 1;
    }
    const held = [client, ...client.layers.map((l) => client.layer(l.name)!)].reduce((n, s) => n + s.writableLength, 0);
    // Each of the three (two layers and the connection) holds at most its
    // 64 KiB mark plus the write that crossed it.
    expect(held).toBeLessThanOrEqual(3 * 2 * 64 * 1024);
    // The rest sits in kernel socket buffers, a few MiB on loopback at most.
    expect(accepted).toBeLessThan(64 << 20);
    client.destroy();
    await peer.close();
  });

  it('fast writer, slow reader through tls → deflate: bytes exact, buffers within their marks', async () => {
    const data = new Random(3).bytes(6 << 20);
    let maxHeld = 0;
    const s = await server([tlsServer(), deflate()], async (conn) => {
      const chunks: Buffer[] = [];
      for (let c = await conn.receive(64 * 1024); c !== null; c = await conn.receive(64 * 1024)) {
        chunks.push(c);
        const held = [conn, ...conn.layers.map((l) => conn.layer(l.name)!)].reduce((n, st) => n + st.readableLength + st.writableLength, 0);
        maxHeld = Math.max(maxHeld, held);
        await sleep(1);
      }
      await conn.send(sha256(Buffer.concat(chunks)));
      await conn.close();
    });
    const client = await connect({ host: '127.0.0.1', port: s.port }, [tlsClient({ servername: 'localhost' }), deflate()]);
    expect(await writeFlat(client, data)).toBeUndefined();
    expect((await readAll(client)).toString()).toBe(sha256(data));
    // Each layer holds at most about two 64 KiB marks (read and write side).
    expect(maxHeld).toBeLessThanOrEqual(8 * 64 * 1024);
    await s.listener.close();
  });
});

for (const engine of Object.keys(ENGINES) as Engine[]) describe(`TLS faults on real sockets (${engine} engine)`, () => {
  it('reset mid-handshake: the client fails with ERR_WIRESTACK_TRANSPORT and closes', async () => {
    const peer = await rawServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const client = await connect({ host: '127.0.0.1', port: peer.port }, [tlsClient({ servername: 'localhost' }, engine)]);
    const err = await client.secured.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
    await whenClosed(client);
    expect(client.raw.stream.destroyed).toBe(true);
    await peer.close();
  });

  it('a server that never answers the ClientHello: the handshake timeout fires and the socket closes', async () => {
    const peer = await rawServer((socket) => socket.resume());
    const client = await connect({ host: '127.0.0.1', port: peer.port }, [tlsClient({ servername: 'localhost', handshakeTimeout: 300 }, engine)]);
    expect(await client.secured.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT' });
    await whenClosed(client);
    // The peer sees the socket go away.
    const socket = peer.sockets[0]!;
    if (!socket.readableEnded) await new Promise((resolve) => socket.once('end', resolve));
    await peer.close();
  });

  it('a client that connects and never says anything: the server times out and closes the socket', async () => {
    const s = await server([tlsServer({ handshakeTimeout: 300 }, engine)]);
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    expect(s.errors.map((e) => e.code)).toEqual(['ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT']);
    await s.listener.close();
  });

  it('truncation without close_notify: the reader gets ERR_WIRESTACK_TLS_TRUNCATED, not a clean end', async () => {
    const s = await server([tlsServer({}, engine)], async (conn) => {
      await conn.receiveExactly(5);
      await conn.send('partial answer');
      // Let the record reach the socket, then a FIN under TLS: no close_notify.
      await sleep(50);
      conn.raw.stream.end();
    });
    const client = await connect({ host: '127.0.0.1', port: s.port }, [tlsClient({ servername: 'localhost' }, engine)]);
    await client.send('hello');
    const chunks: Buffer[] = [];
    const err = await (async () => {
      for (let c = await client.receive(); c !== null; c = await client.receive()) chunks.push(c);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_TLS_TRUNCATED' });
    expect(Buffer.concat(chunks).toString()).toBe('partial answer');
    await s.listener.close({ drain: false });
  });

  it('bytes that are not TLS where a ClientHello should be: ERR_WIRESTACK_TLS_HANDSHAKE, socket closed', async () => {
    const s = await server([tlsServer({}, engine)]);
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(s.errors.map((e) => e.code)).toEqual(['ERR_WIRESTACK_TLS_HANDSHAKE']);
    await s.listener.close();
  });

  it('a decompression bomb through tls → deflate: ERR_WIRESTACK_INFLATE_LIMIT, memory not spent', async () => {
    const s = await server([tlsServer({}, engine), deflate({ maxInflatedBytes: 1 << 20 })], async (conn) => void (await readAll(conn).catch(() => null)));
    // 256 MiB of zeros deflate to about 256 KiB; the attacker sends that raw under TLS.
    const bomb = zlib.deflateRawSync(Buffer.alloc(256 << 20), { level: 9 });
    const attacker = await connect({ host: '127.0.0.1', port: s.port }, [tlsClient({ servername: 'localhost' }, engine)]);
    const rssBefore = process.memoryUsage().rss;
    await attacker.send(bomb).catch(() => undefined);
    await whenClosed(attacker);
    for (let i = 0; i < 100 && s.errors.length === 0; i++) await sleep(10);
    expect(s.errors.map((e) => e.code)).toEqual(['ERR_WIRESTACK_INFLATE_LIMIT']);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 << 20);
    await s.listener.close({ drain: false });
  });
});

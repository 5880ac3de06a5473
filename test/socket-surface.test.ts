import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import nodeTls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Connection, type Filter, connect, deflate, duplexPair, listen, meter, tls, wrap } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { refusingPort } from './connectors.js';
import { whenClosed } from './helpers.js';

function memoryPair(client: Filter[] = [], server: Filter[] = []): { client: Connection; server: Connection } {
  const [a, b] = duplexPair();
  return { client: wrap(a, client, { role: 'client' }), server: wrap(b, server, { role: 'server' }) };
}

// A listener and a connection to it, over `filters` on each end.
async function tcpPair(clientFilters: Filter[] = [], serverFilters: Filter[] = []) {
  let accepted!: (conn: Connection) => void;
  const gotServer = new Promise<Connection>((resolve) => { accepted = resolve; });
  const listener = await listen({ host: '127.0.0.1', port: 0 }, serverFilters, (conn) => accepted(conn));
  const { port } = listener.address() as { port: number };
  const client = await connect({ host: '127.0.0.1', port }, clientFilters);
  return { client, server: await gotServer, listener, port };
}

function tlsFilters(alpn?: string[]): { client: Filter; server: Filter } {
  const certs = makeCertificates();
  return {
    client: tls.client({ ca: certs.ca.cert, servername: 'localhost', ...(alpn ? { alpn } : {}) }),
    server: tls.server({ cert: certs.server.cert, key: certs.server.key, ...(alpn ? { alpn } : {}) }),
  };
}

const activeTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

afterEach(() => {
  vi.useRealTimers();
});

describe('socket surface over a TCP socket', () => {
  it('answers with the raw socket\'s addresses and returns the connection from every setter', async () => {
    const { client, server, listener, port } = await tcpPair();
    const raw = client.raw.stream as net.Socket;
    expect(client.address()).toEqual(raw.address());
    expect(client.localAddress).toBe('127.0.0.1');
    expect(client.localPort).toBe(raw.localPort);
    expect(client.localFamily).toBe('IPv4');
    expect(client.remoteAddress).toBe('127.0.0.1');
    expect(client.remotePort).toBe(port);
    expect(client.remoteFamily).toBe('IPv4');
    // Both ends see the same two ports.
    expect(server.remotePort).toBe(client.localPort);
    expect(server.localPort).toBe(client.remotePort);
    expect(client.setKeepAlive(true, 1000)).toBe(client);
    expect(client.setNoDelay(true)).toBe(client);
    expect(client.setNoDelay(false)).toBe(client);
    expect(client.unref()).toBe(client);
    expect(client.ref()).toBe(client);
    expect(client.connecting).toBe(false);
    expect(client.pending).toBe(false);
    expect(client.encrypted).toBe(false);
    expect(client.alpnProtocol).toBeUndefined();
    client.destroy();
    server.destroy();
    await listener.close();
  });

  it('readyState follows the connection\'s two directions: open, readOnly after end(), closed', async () => {
    const { client, server, listener } = await tcpPair();
    expect(client.readyState).toBe('open');
    await client.close();
    expect(client.readyState).toBe('readOnly');
    expect(await server.receive()).toBeNull();
    await server.close();
    expect(await client.receive()).toBeNull();
    await whenClosed(client);
    expect(client.readyState).toBe('closed');
    await listener.close();
  });

  it('unref() lets the process exit while the connection is open; ref() holds it again', async () => {
    const { client, server, listener } = await tcpPair();
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    client.unref();
    expect(sockets()).toBe(before - 1);
    client.ref();
    expect(sockets()).toBe(before);
    client.destroy();
    server.destroy();
    await listener.close();
  });

  it('with TLS on the native path, the setters still reach the socket below OpenSSL', async () => {
    const certs = makeCertificates();
    // allowTruncation: the native path then needs nothing but a connected socket.
    const { client, server, listener } = await tcpPair(
      [tls.client({ ca: certs.ca.cert, servername: 'localhost', allowTruncation: true })],
      [tls.server({ cert: certs.server.cert, key: certs.server.key, allowTruncation: true })]);
    await client.secured;
    expect(client.tls?.path).toBe('native');
    expect(client.encrypted).toBe(true);
    expect(client.remoteAddress).toBe('127.0.0.1');
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    expect(client.setKeepAlive(true).setNoDelay(true).unref()).toBe(client);
    expect(sockets()).toBe(before - 1);
    client.ref();
    // Idle means idle above OpenSSL too: the timer fires with nothing sent.
    const timedOut = new Promise<void>((resolve) => client.setTimeout(50, resolve));
    await timedOut;
    expect(client.destroyed).toBe(false);
    await client.send('still open');
    expect((await server.receive())!.toString()).toBe('still open');
    client.destroy();
    server.destroy();
    await listener.close();
  });
});

describe('socket surface over a stream that is not a socket', () => {
  it('setters are harmless, facts are undefined, address() is {} (a memory pair)', async () => {
    const { client, server } = memoryPair();
    expect(client.setKeepAlive(true)).toBe(client);
    expect(client.setNoDelay()).toBe(client);
    expect(client.ref().unref()).toBe(client);
    expect(client.address()).toEqual({});
    expect(client.remoteAddress).toBeUndefined();
    expect(client.remotePort).toBeUndefined();
    expect(client.remoteFamily).toBeUndefined();
    expect(client.localAddress).toBeUndefined();
    expect(client.localPort).toBeUndefined();
    expect(client.connecting).toBe(false);
    expect(client.pending).toBe(false);
    expect(client.readyState).toBe('open');
    expect(() => client.connect(1234)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    // Still a working connection after all of it.
    await client.send('ping');
    expect((await server.receive())!.toString()).toBe('ping');
    client.destroy();
    server.destroy();
  });

  it('bytesRead and bytesWritten count application bytes, not what the layers below moved', async () => {
    const { client, server } = memoryPair([deflate(), meter()], [deflate(), meter()]);
    const text = 'a'.repeat(100_000);
    await client.send(text);
    expect((await server.receiveExactly(text.length)).length).toBe(text.length);
    expect(client.bytesWritten).toBe(text.length);
    expect(server.bytesRead).toBe(text.length);
    // Compressed, the raw stream carried far fewer bytes.
    expect(client.layers[0]!.bytesOut).toBeLessThan(text.length / 10);
    client.destroy();
    server.destroy();
  });

  it('encrypted and alpnProtocol follow the topmost TLS layer: null before the handshake, then the protocol (or false)', async () => {
    const withAlpn = tlsFilters(['h2', 'http/1.1']);
    const { client, server } = memoryPair([withAlpn.client], [withAlpn.server]);
    expect(client.encrypted).toBe(true);
    expect(client.alpnProtocol).toBeNull();
    await Promise.all([client.secured, server.secured]);
    expect(client.alpnProtocol).toBe('h2');
    expect(server.alpnProtocol).toBe('h2');
    client.destroy();
    server.destroy();

    const without = tlsFilters();
    const plain = memoryPair([without.client], [without.server]);
    await Promise.all([plain.client.secured, plain.server.secured]);
    expect(plain.client.alpnProtocol).toBe(false);
    plain.client.destroy();
    plain.server.destroy();
  });
});

describe('a raw socket that is not connected yet', () => {
  it('a socket still connecting: connecting, pending and readyState say so until \'connect\', then bytes flow', async () => {
    const echo = await listen({ host: '127.0.0.1', port: 0 }, [], async (conn) => {
      for await (const chunk of conn) conn.write(chunk);
      conn.end();
    });
    const { port } = echo.address() as { port: number };
    const conn = wrap(net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }), [meter()]);
    expect(conn.connecting).toBe(true);
    expect(conn.pending).toBe(true);
    expect(conn.readyState).toBe('opening');
    const events: string[] = [];
    conn.on('ready', () => events.push('ready'));
    await new Promise<void>((resolve) => conn.once('connect', () => { events.push('connect'); resolve(); }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['connect', 'ready']);
    expect(conn.connecting).toBe(false);
    expect(conn.pending).toBe(false);
    expect(conn.readyState).toBe('open');
    expect(conn.remotePort).toBe(port);
    await conn.send('hello');
    expect((await conn.receive())!.toString()).toBe('hello');
    await conn.close();
    await echo.close();
  });

  it('writes made while it connects go out once it has', async () => {
    const echo = await listen({ host: '127.0.0.1', port: 0 }, [], async (conn) => {
      for await (const chunk of conn) conn.write(chunk);
      conn.end();
    });
    const { port } = echo.address() as { port: number };
    const conn = wrap(net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }), []);
    expect(conn.connecting).toBe(true);
    await conn.send('early');
    expect((await conn.receiveExactly(5)).toString()).toBe('early');
    await conn.close();
    await echo.close();
  });

  it('a refused connection fails the connection with ERR_WIRESTACK_CONNECT, the system error in cause, and no \'connect\'', async () => {
    const port = await refusingPort();
    const conn = wrap(net.connect({ host: '127.0.0.1', port }), [meter()]);
    let connected = false;
    conn.on('connect', () => { connected = true; });
    const err = await new Promise<Error & { code?: string; cause?: { code?: string } }>((resolve) => conn.once('error', resolve));
    expect(err.code).toBe('ERR_WIRESTACK_CONNECT');
    expect(err.cause?.code).toBe('ECONNREFUSED');
    await whenClosed(conn);
    expect(connected).toBe(false);
    expect(conn.readyState).toBe('closed');
  });

  it('conn.connect() connects a socket wrapped unconnected (what pg does with its stream)', async () => {
    const echo = await listen({ host: '127.0.0.1', port: 0 }, [], async (conn) => {
      for await (const chunk of conn) conn.write(chunk);
      conn.end();
    });
    const { port } = echo.address() as { port: number };
    const conn = wrap(new net.Socket({ allowHalfOpen: true }), [meter()]);
    expect(conn.connecting).toBe(false);
    expect(conn.pending).toBe(true);
    const connected = new Promise<void>((resolve) => conn.once('connect', resolve));
    expect(conn.connect(port, '127.0.0.1')).toBe(conn);
    expect(conn.connecting).toBe(true);
    await connected;
    await conn.send('after connect');
    expect((await conn.receiveExactly(13)).toString()).toBe('after connect');
    await conn.close();
    await echo.close();
  });
});

describe('setTimeout and \'timeout\'', () => {
  it('fires once the connection has been idle that long, and leaves it open', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, server } = memoryPair();
    const fired = vi.fn();
    expect(client.setTimeout(1000, fired)).toBe(client);
    expect(client.timeout).toBe(1000);
    vi.advanceTimersByTime(999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(client.destroyed).toBe(false);
    client.destroy();
    server.destroy();
  });

  it('traffic either way restarts the idle period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, server } = memoryPair([meter()], [meter()]);
    const fired = vi.fn();
    client.on('timeout', fired);
    client.setTimeout(1000);
    vi.advanceTimersByTime(900);
    await client.send('out');                          // a write
    expect((await server.receive())!.toString()).toBe('out');
    vi.advanceTimersByTime(900);
    expect(fired).not.toHaveBeenCalled();
    await server.send('in');                           // a read
    expect((await client.receive())!.toString()).toBe('in');
    vi.advanceTimersByTime(900);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(fired).toHaveBeenCalledTimes(1);
    // After firing, more traffic and more idleness fire it again, as net.Socket's does.
    await server.send('again');
    await client.receive();
    vi.advanceTimersByTime(1000);
    expect(fired).toHaveBeenCalledTimes(2);
    client.destroy();
    server.destroy();
  });

  it('setTimeout(0) turns it off and removes the callback it is given', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, server } = memoryPair();
    const fired = vi.fn();
    client.setTimeout(100, fired);
    client.setTimeout(0, fired);
    expect(client.timeout).toBe(0);
    expect(client.listenerCount('timeout')).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    client.destroy();
    server.destroy();
  });

  it('stops with the connection, and never holds the process open', async () => {
    const { client, server } = memoryPair();
    const before = activeTimeouts();
    const fired = vi.fn();
    client.setTimeout(60_000, fired);
    expect(activeTimeouts()).toBe(before);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client: other, server: otherServer } = memoryPair();
    other.setTimeout(100, fired);
    other.destroy();
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    vi.useRealTimers();
    client.destroy();
    server.destroy();
    otherServer.destroy();
  });

  it('refuses a timeout that is not a number of milliseconds', () => {
    const { client, server } = memoryPair();
    for (const bad of [-1, Number.NaN, Infinity, '10' as unknown as number]) {
      expect(() => client.setTimeout(bad)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    }
    expect(() => client.setTimeout(10, 'x' as unknown as () => void)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    client.destroy();
    server.destroy();
  });
});

describe('the TLS part of the surface', () => {
  const certs = makeCertificates();
  // What Node's own TLS client reports about the same server, for the shapes.
  async function nativeView(port: number): Promise<nodeTls.TLSSocket> {
    const socket = nodeTls.connect({ host: '127.0.0.1', port, ca: certs.ca.cert, servername: 'localhost' });
    await once(socket, 'secureConnect');
    return socket;
  }

  it('answers as tls.TLSSocket does, with the node engine on the native path', async () => {
    const { client, server, listener, port } = await tcpPair([tls.client({ ca: certs.ca.cert, servername: 'localhost' })],
      [tls.server({ cert: certs.server.cert, key: certs.server.key })]);
    await Promise.all([client.secured, server.secured]);
    const native = await nativeView(port);
    expect(client.authorized).toBe(true);
    expect(client.authorizationError).toBe(null);
    expect(client.servername).toBe('localhost');
    expect(server.servername).toBe('localhost');
    const mine = client.getPeerCertificate() as nodeTls.PeerCertificate;
    const theirs = native.getPeerCertificate();
    expect(Object.keys(mine).sort()).toEqual(Object.keys(theirs).sort());
    expect(mine.fingerprint256).toBe(theirs.fingerprint256);
    expect(mine.raw.equals(theirs.raw)).toBe(true);
    const detailed = client.getPeerCertificate(true) as nodeTls.DetailedPeerCertificate;
    expect(detailed.issuerCertificate.fingerprint256).toBe(new X509Certificate(certs.ca.cert).fingerprint256);
    expect(client.getCipher()).toEqual(native.getCipher());
    expect(client.getProtocol()).toBe('TLSv1.3');
    expect(client.isSessionReused()).toBe(false);
    // Both ends derive the same keying material (RFC 5705).
    expect(client.exportKeyingMaterial(32, 'EXPORTER-test').equals(server.exportKeyingMaterial(32, 'EXPORTER-test'))).toBe(true);
    native.destroy();
    client.destroy();
    server.destroy();
    await listener.close();
  });

  it('resumes with getSession(), and isSessionReused() says so', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [tls.server({ cert: certs.server.cert, key: certs.server.key, maxVersion: 'TLSv1.2' })], () => {});
    const { port } = listener.address() as { port: number };
    const first = await connect({ host: '127.0.0.1', port }, [tls.client({ ca: certs.ca.cert, servername: 'localhost' })]);
    await first.secured;
    const session = first.getSession()!;
    expect(Buffer.isBuffer(session)).toBe(true);
    const second = await connect({ host: '127.0.0.1', port }, [tls.client({ ca: certs.ca.cert, servername: 'localhost', session })]);
    await second.secured;
    expect(second.isSessionReused()).toBe(true);
    first.destroy();
    second.destroy();
    await listener.close({ drain: false });
  });

  it('reports the filter\'s own verdict, named as TLSSocket names it, when rejectUnauthorized is off', async () => {
    const other = makeCertificates({ label: 'another PKI' });
    const { client, server, listener } = await tcpPair([tls.client({ ca: other.ca.cert, servername: 'localhost', rejectUnauthorized: false })],
      [tls.server({ cert: certs.server.cert, key: certs.server.key })]);
    await client.secured;
    expect(client.authorized).toBe(false);
    expect(client.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    client.destroy();
    server.destroy();
    const wrongName = await tcpPair([tls.client({ ca: certs.ca.cert, servername: 'elsewhere.test', rejectUnauthorized: false })],
      [tls.server({ cert: certs.server.cert, key: certs.server.key })]);
    await wrongName.client.secured;
    expect(wrongName.client.authorized).toBe(false);
    expect(wrongName.client.authorizationError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    wrongName.client.destroy();
    wrongName.server.destroy();
    await Promise.all([listener.close(), wrongName.listener.close()]);
  });

  it('answers from the handshake\'s facts with the forge engine, and refuses what forge cannot do', async () => {
    const forge = { engine: 'forge' as const, minVersion: 'TLSv1' as const };
    const [a, b] = duplexPair();
    const client = wrap(a, [tls.client({ ...forge, ca: certs.ca.cert, servername: 'localhost' })], { role: 'client' });
    const server = wrap(b, [tls.server({ ...forge, cert: certs.server.cert, key: certs.server.key })], { role: 'server' });
    await Promise.all([client.secured, server.secured]);
    expect(client.authorized).toBe(true);
    expect(client.getProtocol()).toBe('TLSv1');
    expect((client.getPeerCertificate() as nodeTls.PeerCertificate).fingerprint256).toBe(new X509Certificate(certs.server.cert).fingerprint256);
    expect(client.getCipher()).toMatchObject({ standardName: expect.stringMatching(/^TLS_RSA_WITH_AES_/), version: 'TLSv1' });
    expect(client.getSession()).toBeUndefined();
    expect(() => client.exportKeyingMaterial(32, 'EXPORTER-test')).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_TLS_UNSUPPORTED' }));
    client.destroy();
    server.destroy();
  });

  it('is undefined (or false) without a TLS layer', () => {
    const { client } = memoryPair();
    expect([client.authorized, client.authorizationError, client.servername, client.getPeerCertificate(), client.getCipher(),
      client.getProtocol(), client.isSessionReused(), client.getSession()]).toEqual([false, undefined, undefined, undefined, undefined, undefined, false, undefined]);
    expect(() => client.exportKeyingMaterial(32, 'x')).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_TLS_UNSUPPORTED' }));
    client.destroy();
  });
});

import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import nodeTls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, duplexPair, listen, tls, wrap, type Connection, type Filter, type SecureInfo, type WirestackError } from '../lib/index.js';
import { fragment, makeCertificates } from '../lib/testing/index.js';
import { closeBothWays, nodeInternals, sha256 } from './helpers.js';

const certs = makeCertificates();

function pair(client: Filter | Filter[], server: Filter | Filter[], opts: Parameters<typeof duplexPair>[0] = {}) {
  const [a, b] = duplexPair(opts);
  return {
    c: wrap(a, client, { role: 'client', remote: { host: 'localhost' } }),
    s: wrap(b, server, { role: 'server' }),
  };
}

const serverFilter = tls.server({ cert: certs.server.cert, key: certs.server.key });
const clientFilter = tls.client({ ca: certs.ca.cert });

describe('tls over a memory pair', () => {
  it('handshakes, reports the session and moves bytes both ways', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    const secureEvent = new Promise<SecureInfo>((resolve) => c.once('secure', resolve));
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    expect(await secureEvent).toBe(ci);
    expect(ci.protocol).toBe('TLSv1.3');
    expect(ci.authorized).toBe(true);
    expect(ci.peerCertificate!.subjectAltNames).toContain('DNS:localhost');
    expect(si.peerCertificate).toBe(null);
    await c.send('hello');
    expect((await s.receive())!.toString()).toBe('hello');
    await s.send('back');
    expect((await c.receive())!.toString()).toBe('back');
    await c.close();
    expect(await s.receive()).toBe(null);
    expect(s.tls!.peerClose).toBe('close_notify');
    await s.send('after half-close');
    expect((await c.receive())!.toString()).toBe('after half-close');
    await s.close();
    expect(await c.receive()).toBe(null);
    expect(c.tls!.peerClose).toBe('close_notify');
  });

  it('moves 4 MiB intact', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    const data = randomBytes(4 << 20);
    const h = createHash('sha256');
    const got = new Promise((resolve) => s.on('data', (chunk: Buffer) => h.update(chunk)).on('end', resolve));
    await c.send(data);
    await c.close();
    await got;
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('reports a bare transport end as truncation', async () => {
    const [a, b] = duplexPair();
    const c = wrap(a, clientFilter, { role: 'client', remote: { host: 'localhost' } });
    const s = wrap(b, serverFilter, { role: 'server' });
    await Promise.all([c.secured, s.secured]);
    a.end();
    const err = await s.receive().then(() => null, (e: WirestackError) => e);
    expect(err?.code).toBe('ERR_WIRESTACK_TLS_TRUNCATED');
  });
});

// Hands every chunk up in pieces of 1–7 bytes: TLS records arrive cut at
// every possible place.
const fragmenting = fragment({ sizes: [1, 2, 3, 4, 5, 6, 7], direction: 'in' }, 'fragmenting');

async function roundTrip(c: Connection, s: Connection): Promise<void> {
  await c.send('ping');
  expect((await s.receiveExactly(4)).toString()).toBe('ping');
  await s.send('pong');
  expect((await c.receiveExactly(4)).toString()).toBe('pong');
}

async function failureOf(promise: Promise<unknown>): Promise<WirestackError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (err: WirestackError) => err);
}

// The certificate verification cases shared by every engine are in tls-verification.test.ts.
describe('tls verification', () => {
  it('checks an IP address against the IP SANs and sends no SNI for it', async () => {
    const [a, b] = duplexPair();
    let sniSeen: string | undefined = 'none';
    const server = tls.server({ ...certs.server, sni: (name) => { sniSeen = name; return undefined; } });
    const c = wrap(a, tls.client({ ca: certs.ca.cert }), { role: 'client', remote: { host: '127.0.0.1' } });
    const s = wrap(b, server, { role: 'server' });
    expect((await c.secured).authorized).toBe(true);
    await s.secured;
    expect(sniSeen).toBe('none');
    const [a2, b2] = duplexPair();
    const c2 = wrap(a2, tls.client({ ca: certs.ca.cert }), { role: 'client', remote: { host: '10.0.0.1' } });
    wrap(b2, serverFilter, { role: 'server' });
    expect((await failureOf(c2.secured)).code).toBe('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH');
  });
  it('refuses to skip the host name check when no host name is known', async () => {
    const [a, b] = duplexPair();
    const c = wrap(a, clientFilter, { role: 'client' });
    wrap(b, serverFilter, { role: 'server' });
    expect((await failureOf(c.secured)).code).toBe('ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH');
    // servername: false sends no SNI but still checks the host connected to.
    const noSni = pair(tls.client({ ca: certs.ca.cert, servername: false }), serverFilter);
    expect((await noSni.c.secured).authorized).toBe(true);
  });
  it('names a received alert (protocol_version)', async () => {
    const { c, s } = pair(tls.client({ ca: certs.ca.cert, maxVersion: 'TLSv1.2' }),
      tls.server({ ...certs.server, minVersion: 'TLSv1.3' }));
    const err = await failureOf(c.secured);
    expect(err.code).toBe('ERR_WIRESTACK_TLS_ALERT');
    expect(err.alert).toBe('protocol_version');
    expect((await failureOf(s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
  });
  it('times out a handshake the peer never answers', async () => {
    const [a, b] = duplexPair();
    b.resume();
    // The silent peer is reset when the client gives up.
    b.on('error', () => {});
    const c = wrap(a, tls.client({ ca: certs.ca.cert, handshakeTimeout: 50 }), { role: 'client', remote: { host: 'localhost' } });
    expect((await failureOf(c.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT');
    expect(c.destroyed).toBe(true);
  });
  it('fails a handshake when the peer speaks no TLS', async () => {
    const [a, b] = duplexPair();
    const s = wrap(a, serverFilter, { role: 'server' });
    b.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await failureOf(s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
  });
  it('rejects bad options with ERR_WIRESTACK_INVALID_ARGUMENT', () => {
    expect(() => tls.client({ minVersion: 'SSLv3' as never })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(() => tls.server({})).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(() => tls.client({ key: 'not a key', cert: 'nor a cert' })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(() => tls.client({ bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(() => tls.client({ engine: 'nonesuch' as never })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_TLS_UNSUPPORTED' }));
  });
});

describe('tls features', () => {
  it('negotiates ALPN', async () => {
    const { c, s } = pair(tls.client({ ca: certs.ca.cert, alpn: ['h2', 'http/1.1'] }),
      tls.server({ ...certs.server, alpn: ['http/1.1'] }));
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    expect(ci.alpn).toBe('http/1.1');
    expect(si.alpn).toBe('http/1.1');
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`resumes a session (${version})`, async () => {
      const server = tls.server({ ...certs.server, maxVersion: version });
      const first = pair(tls.client({ ca: certs.ca.cert, maxVersion: version }), server);
      const session = new Promise<Buffer>((resolve) => first.c.once('session', resolve));
      await roundTrip(first.c, first.s);
      const saved = await session;
      expect((await first.c.secured).resumed).toBe(false);
      const second = pair(tls.client({ ca: certs.ca.cert, maxVersion: version, session: saved }), server);
      const [ci, si] = await Promise.all([second.c.secured, second.s.secured]);
      expect(ci.resumed).toBe(true);
      expect(si.resumed).toBe(true);
      expect(ci.protocol).toBe(version);
      await roundTrip(second.c, second.s);
    });
  }

  it('verifies client certificates (mutual TLS)', async () => {
    const server = tls.server({ ...certs.server, ca: certs.ca.cert, requestCert: true });
    const { c, s } = pair(tls.client({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }), server);
    const si = await s.secured;
    expect(si.authorized).toBe(true);
    expect(si.peerCertificate!.subject).toBe('CN=client');
    await roundTrip(c, s);
    // Without a certificate the server refuses. (Over this memory pair the
    // server's certificate_required alert does not get out before Node's
    // TLSSocket destroys itself, so the client may see the end of the
    // transport instead; over TCP it hears the alert, tested below.)
    const bad = pair(clientFilter, server);
    expect((await failureOf(bad.s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
    expect((await failureOf(bad.c.receive())).code).toMatch(/^ERR_WIRESTACK_TLS_/);
    // A certificate from another CA is refused by policy.
    const stranger = makeCertificates({ names: ['stranger.test'] });
    const other = pair(tls.client({ ca: certs.ca.cert, cert: stranger.client.cert, key: stranger.client.key }), server);
    expect((await failureOf(other.s.secured)).code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
  });

  it('judges concurrent mutual-TLS clients each on its own certificate', async () => {
    // Servers that ask for certificates are made by pooled tls.Servers, one handshake each at a time.
    const stranger = makeCertificates({ label: 'stranger' });
    const server = tls.server({ ...certs.server, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: false });
    const pairs = Array.from({ length: 24 }, (_, i) => {
      const own = i % 3 === 0 ? stranger.client : certs.client;
      return pair(tls.client({ ca: certs.ca.cert, cert: own.cert, key: own.key }), server);
    });
    const verdicts = await Promise.all(pairs.map(async ({ c, s }, i) => {
      await c.send(`${i}`.padStart(2, '0'));
      const said = Number((await s.receiveExactly(2)).toString());
      return [said, (await s.secured).authorized] as const;
    }));
    expect(verdicts).toEqual(pairs.map((_, i) => [i, i % 3 !== 0]));
  });

  it('picks the certificate by server name (SNI)', async () => {
    const other = makeCertificates({ names: ['other.test'] });
    const server = tls.server({ ...certs.server, sni: (name) => (name === 'other.test' ? other.server : undefined) });
    const ca = [certs.ca.cert, other.ca.cert];
    const a = pair(tls.client({ ca, servername: 'other.test' }), server);
    expect((await a.c.secured).peerCertificate!.subjectAltNames).toEqual(['DNS:other.test']);
    const b = pair(tls.client({ ca }), server);
    expect((await b.c.secured).peerCertificate!.subjectAltNames).toContain('DNS:localhost');
  });

  it('writes the NSS key log', async () => {
    const lines: string[] = [];
    const keylog = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } });
    const { c, s } = pair(tls.client({ ca: certs.ca.cert, keylog }), serverFilter);
    await roundTrip(c, s);
    expect(lines.some((l) => /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,}\n$/.test(l))).toBe(true);
  });

  it('drops key log lines while the sink is full, warns once, and queues nothing past its buffer', async () => {
    const lines: string[] = [];
    // A sink that takes its first line and holds it until told to flow.
    let flowing = false;
    let held: (() => void) | undefined;
    const keylog = new Writable({
      highWaterMark: 256,
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        if (flowing) cb();
        else held = () => cb();
      },
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => { warnings.push(warning.message); };
    process.on('warning', onWarning);
    try {
      const client = tls.client({ ca: certs.ca.cert, keylog });
      let most = 0;
      for (let i = 0; i < 10; i++) {
        const { c, s } = pair(client, serverFilter);
        await roundTrip(c, s);
        most = Math.max(most, keylog.writableLength);
      }
      // Ten TLS 1.3 handshakes make 50 lines of ~160 bytes; the sink holds one, and its buffer at most one more line than it allows.
      expect(lines).toHaveLength(1);
      expect(most).toBeLessThan(256 + 200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes('TLS key log'))).toHaveLength(1);
      // Drained, it takes lines again.
      flowing = true;
      const drained = new Promise((resolve) => keylog.once('drain', resolve));
      held!();
      await drained;
      const before = lines.length;
      const { c, s } = pair(client, serverFilter);
      await roundTrip(c, s);
      expect(lines.length).toBeGreaterThan(before);
      expect(lines.slice(before).every((l) => /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+\n$/.test(l))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('handshakes and moves records one byte at a time', async () => {
    const { c, s } = pair(clientFilter, serverFilter, { maxChunkSize: 1 });
    await roundTrip(c, s);
    const data = randomBytes(40_000);
    const got = s.receiveExactly(data.length);
    await c.send(data);
    expect((await got).equals(data)).toBe(true);
    // close_notify then FIN, a byte at a time: still a proper close.
    await c.close();
    expect(await s.receive()).toBe(null);
    expect(s.tls!.peerClose).toBe('close_notify');
  });

  it('works above a fragmenting layer', async () => {
    const { c, s } = pair([fragmenting, clientFilter], [fragmenting, serverFilter]);
    const data = randomBytes(200_000);
    const got = s.receiveExactly(data.length);
    await c.send(data);
    expect((await got).equals(data)).toBe(true);
    await roundTrip(c, s);
  });

  it('runs TLS inside TLS', async () => {
    const { c, s } = pair([clientFilter, tls.client({ ca: certs.ca.cert, name: 'inner' })],
      [serverFilter, tls.server({ ...certs.server, name: 'inner' })]);
    await roundTrip(c, s);
    expect(c.layers.map((l) => l.name)).toEqual(['tls', 'inner']);
    const outer = c.layers[0]!;
    const inner = c.layers[1]!;
    expect(outer.bytesOut!).toBeGreaterThan(inner.bytesOut!);
    await c.close();
    expect(await s.receive()).toBe(null);
  });

  it('accepts a bare end with allowTruncation', async () => {
    const [a, b] = duplexPair();
    const c = wrap(a, clientFilter, { role: 'client', remote: { host: 'localhost' } });
    const s = wrap(b, tls.server({ ...certs.server, allowTruncation: true }), { role: 'server' });
    await roundTrip(c, s);
    a.end();
    expect(await s.receive()).toBe(null);
    expect(s.tls!.peerClose).toBe('transport');
  });

  it('writes the key log to a file path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirestack-keylog-'));
    try {
      const file = join(dir, 'keys.log');
      const { c, s } = pair(tls.client({ ca: certs.ca.cert, keylog: file, maxVersion: 'TLSv1.2' }), serverFilter);
      await roundTrip(c, s);
      // The file stream writes asynchronously: wait (bounded) until the line is there.
      const line = /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n/;
      for (let i = 0; i < 100 && !line.test(readIfThere(file)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(readFileSync(file, 'utf8')).toMatch(line);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no secured session without a TLS layer, and reading the property is harmless', async () => {
    const [a] = duplexPair();
    const plain = wrap(a, []);
    void plain.secured;
    expect((await failureOf(plain.secured)).code).toBe('ERR_WIRESTACK_TLS_UNSUPPORTED');
    expect(plain.tls).toBe(undefined);
  });

  it('rejects pop() with ERR_WIRESTACK_TLS_UNSUPPORTED on the node engine', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    await roundTrip(c, s);
    expect((await failureOf(c.pop())).code).toBe('ERR_WIRESTACK_TLS_UNSUPPORTED');
    // Nothing was guessed or torn down: the connection goes on over TLS.
    await roundTrip(c, s);
    expect(c.layers.map((l) => l.name)).toEqual(['tls']);
  });
});

describe('tls over TCP: the native fast path', () => {
  async function tcpPair(client: Filter[], server: Filter[]): Promise<{ c: Connection; s: Connection; close: () => Promise<void> }> {
    let accepted!: (conn: Connection) => void;
    const got = new Promise<Connection>((resolve) => { accepted = resolve; });
    const listener = await listen({ host: '127.0.0.1', port: 0 }, server, (conn) => accepted(conn));
    const { port } = listener.address() as { port: number };
    const c = await connect({ host: 'localhost', port }, client);
    return { c, s: await got, close: () => listener.close({ drain: false }) };
  }

  it('is taken on a bare socket with allowTruncation, and moves bytes both ways', async () => {
    const { c, s, close } = await tcpPair([tls.client({ ca: certs.ca.cert, allowTruncation: true })],
      [tls.server({ ...certs.server, allowTruncation: true })]);
    await roundTrip(c, s);
    // A client needs no private API for it; a server does (its errors: node-engine.ts).
    expect(c.tls!.path).toBe('native');
    expect(s.tls!.path).toBe(nodeInternals ? 'native' : 'stream');
    const data = randomBytes(1 << 20);
    const got = s.receiveExactly(data.length);
    await c.send(data);
    expect((await got).equals(data)).toBe(true);
    await c.close();
    expect(await s.receive()).toBe(null);
    // Read off the socket's handles (native-eof.ts), or seen by the stream path.
    expect(s.tls!.peerClose).toBe('close_notify');
    await s.close();
    expect(await c.receive()).toBe(null);
    await close();
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`by default tells a bare TCP end (truncation) from a close_notify (${maxVersion})`, async () => {
      const { c, s, close } = await tcpPair([tls.client({ ca: certs.ca.cert, maxVersion })], [tls.server({ ...certs.server, maxVersion })]);
      await roundTrip(c, s);
      expect([c.tls!.path, s.tls!.path]).toEqual(nodeInternals ? ['native', 'native'] : ['stream', 'stream']);
      await s.send('last words');
      expect((await c.receive())!.toString()).toBe('last words');
      // FIN below the TLS layer: no close_notify.
      s.raw.stream.end();
      expect((await failureOf(c.receive())).code).toBe('ERR_WIRESTACK_TLS_TRUNCATED');
      expect(c.tls!.peerClose).toBe('transport');
      await close();
    });

    it(`by default takes a close_notify that arrives while the reader is paused as a clean close (${maxVersion})`, async () => {
      const { c, s, close } = await tcpPair([tls.client({ ca: certs.ca.cert, maxVersion })], [tls.server({ ...certs.server, maxVersion })]);
      await roundTrip(c, s);
      // The client's buffers fill, OpenSSL's reading stops, and the close_notify waits behind the data.
      const data = randomBytes(4 << 20);
      const sent = s.send(data).then(() => s.close());
      await new Promise((resolve) => setTimeout(resolve, 100));
      const h = createHash('sha256');
      let received = 0;
      for await (const chunk of c) {
        h.update(chunk as Buffer);
        received += (chunk as Buffer).length;
      }
      expect(received).toBe(data.length);
      expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      expect(c.tls!.peerClose).toBe('close_notify');
      await sent;
      await c.close();
      await close();
    });
  }

  it('a client without a certificate hears certificate_required from a mutual-TLS server', async () => {
    const { c, close } = await tcpPair([clientFilter], [tls.server({ ...certs.server, ca: certs.ca.cert, requestCert: true })]);
    const err = await failureOf(c.receive());
    expect(err.code).toBe('ERR_WIRESTACK_TLS_ALERT');
    expect(err.alert).toBe('certificate_required');
    await close();
  });

  it('is taken by default on a bare socket, but not above another layer', async () => {
    const { c, s, close } = await tcpPair([tls.client({ ca: certs.ca.cert })], [fragmenting, tls.server({ ...certs.server, allowTruncation: true })]);
    await roundTrip(c, s);
    expect(c.tls!.path).toBe(nodeInternals ? 'native' : 'stream');
    expect(s.tls!.path).toBe('stream');
    await c.close();
    expect(await s.receive()).toBe(null);
    expect(s.tls!.peerClose).toBe('close_notify');
    await close();
  });

  it('connect() with TLS lowest opens the connection and its TLS as one socket, as tls.connect() does', async () => {
    const { c, s, close } = await tcpPair([tls.client({ ca: certs.ca.cert })], [tls.server(certs.server)]);
    // No net.Socket of its own below OpenSSL: the raw stream is the TLS socket
    // (where internals allow the close_notify watch it needs; else a plain socket and TLS on it).
    expect(c.raw.stream instanceof nodeTls.TLSSocket).toBe(nodeInternals);
    expect(c.raw.fd).toEqual(expect.any(Number));
    expect(c.tls!.path).toBe(nodeInternals ? 'native' : 'stream');
    const up = randomBytes(1 << 20);
    const down = randomBytes(1 << 20);
    const [, , gotUp, gotDown] = await Promise.all([c.send(up), s.send(down), s.receiveExactly(up.length), c.receiveExactly(down.length)]);
    expect(sha256(gotUp)).toBe(sha256(up));
    expect(sha256(gotDown)).toBe(sha256(down));
    await closeBothWays(c, s);
    await close();

    // Not when another layer is below TLS: that layer needs the plain socket.
    const below = await tcpPair([fragmenting, tls.client({ ca: certs.ca.cert })], [tls.server(certs.server)]);
    expect(below.c.raw.stream instanceof nodeTls.TLSSocket).toBe(false);
    await roundTrip(below.c, below.s);
    below.c.destroy();
    await below.close();
  });

  it('connect() with TLS lowest to a port nobody listens on fails with ERR_WIRESTACK_CONNECT, nothing else', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [], () => {});
    const { port } = listener.address() as { port: number };
    await listener.close();
    const failure = await connect({ host: '127.0.0.1', port }, [tls.client({ ca: certs.ca.cert, servername: 'localhost' })]).catch((err: WirestackError) => err);
    expect(failure).toMatchObject({ code: 'ERR_WIRESTACK_CONNECT', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
  });
});

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('tls close before the handshake finished', () => {
  it('sends its close_notify after the handshake, so the peer sees a clean end, over memory and TCP', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    const closing = c.close();
    expect(await s.receive()).toBe(null);
    await closing;
    expect(s.tls!.peerClose).toBe('close_notify');
    await s.close();
    expect(await c.receive()).toBe(null);

    const listener = await listen({ host: '127.0.0.1', port: 0 }, serverFilter, async (conn) => {
      const end = await conn.receive().catch((err: WirestackError) => err.code);
      await conn.close().catch(() => undefined);
      ended(end);
    });
    let ended!: (value: unknown) => void;
    const serverSaw = new Promise((resolve) => { ended = resolve; });
    const conn = await connect({ host: 'localhost', port: (listener.address() as { port: number }).port }, clientFilter);
    await conn.close();
    expect(await serverSaw).toBe(null);
    conn.destroy();
    await listener.close();
  });
});

describe('tls half-close at the start', () => {
  // A receive-only server (its own side ended before the handshake was
  // done) must get every byte of a TLS 1.3 client that writes at once: the
  // first records arrive in the same read as the client's Finished.
  it('a server that ends its side during the handshake still receives all the client sends (on the native path where internals allow it)', async () => {
    const data = randomBytes(4 << 20);
    for (let round = 0; round < 5; round++) {
      let received!: (value: { bytes: number; sha256: string }) => void;
      const got = new Promise<{ bytes: number; sha256: string }>((resolve) => { received = resolve; });
      const listener = await listen({ host: '127.0.0.1', port: 0 }, serverFilter, (conn) => {
        expect(conn.tls!.path).toBe(nodeInternals ? 'native' : 'stream');
        conn.end();
        const hash = createHash('sha256');
        let bytes = 0;
        conn.on('data', (chunk: Buffer) => { bytes += chunk.length; hash.update(chunk); });
        conn.on('end', () => received({ bytes, sha256: hash.digest('hex') }));
      });
      const conn = await connect({ host: 'localhost', port: (listener.address() as { port: number }).port }, clientFilter);
      conn.resume();
      await conn.send(data);
      await conn.close();
      expect(await got).toEqual({ bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      conn.destroy();
      await listener.close();
    }
  });
});

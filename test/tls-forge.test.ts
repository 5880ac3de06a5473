// The forge engine (node-forge, pure JavaScript) behind the TLS filter:
// options it refuses, fragmentation, early data, close and truncation,
// alerts, timeout, pop() and the key log. Verification cases are shared with
// the node engine in tls-verification.test.ts; interop in tls-forge-interop.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { X509Certificate, randomBytes } from 'node:crypto';
import { Duplex, Writable } from 'node:stream';
import { Layer, duplexPair, tls, wrap, type Connection, type Filter, type WirestackError } from '../lib/index.js';
import { fragment, makeCertificates } from '../lib/testing/index.js';
import { sha256 } from './helpers.js';

const certs = makeCertificates();
const forge = { engine: 'forge', minVersion: 'TLSv1' } as const;
const serverFilter = tls.server({ ...forge, ...certs.server });
const clientFilter = tls.client({ ...forge, ca: certs.ca.cert });

function pair(client: Filter | Filter[], server: Filter | Filter[], opts: Parameters<typeof duplexPair>[0] = {}) {
  const [a, b] = duplexPair(opts);
  return {
    a, b,
    c: wrap(a, client, { role: 'client', remote: { host: 'localhost' } }),
    s: wrap(b, server, { role: 'server' }),
  };
}

async function failureOf(promise: Promise<unknown>): Promise<WirestackError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (err: WirestackError) => err);
}

async function roundTrip(c: Connection, s: Connection): Promise<void> {
  await c.send('ping');
  expect((await s.receiveExactly(4)).toString()).toBe('ping');
  await s.send('pong');
  expect((await c.receiveExactly(4)).toString()).toBe('pong');
}

describe('forge engine: options', () => {
  const refused: Array<[string, string, () => unknown]> = [
    ['minVersion', 'client, default (TLSv1.2)', () => tls.client({ engine: 'forge', ca: certs.ca.cert })],
    ['minVersion', 'server, default (TLSv1.2)', () => tls.server({ engine: 'forge', ...certs.server })],
    ['minVersion', 'client, TLSv1.2', () => tls.client({ engine: 'forge', minVersion: 'TLSv1.2' })],
    ['minVersion', 'server, TLSv1.1', () => tls.server({ engine: 'forge', minVersion: 'TLSv1.1', ...certs.server })],
    ['alpn', 'client', () => tls.client({ ...forge, alpn: ['h2'] })],
    ['session', 'client', () => tls.client({ ...forge, session: Buffer.alloc(10) })],
    ['ticketKeys', 'server', () => tls.server({ ...forge, ...certs.server, ticketKeys: Buffer.alloc(48) })],
    ['sni', 'server', () => tls.server({ ...forge, ...certs.server, sni: () => undefined })],
    ['pfx', 'server', () => tls.server({ ...forge, pfx: Buffer.alloc(10) })],
    ['ciphers', 'client, ECDHE-RSA-AES128-GCM-SHA256', () => tls.client({ ...forge, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })],
    ['secureOptions', 'client', () => tls.client({ ...forge, secureOptions: 4 })],
  ];
  for (const [option, what, make] of refused) {
    it(`refuses ${option} (${what}) with ERR_WIRESTACK_TLS_UNSUPPORTED when the filter is made`, () => {
      expect(make).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_TLS_UNSUPPORTED', message: expect.stringContaining(`"${option}"`) }));
    });
  }

  it('negotiates the cipher suite named in ciphers', async () => {
    const { c, s } = pair(tls.client({ ...forge, ca: certs.ca.cert, ciphers: 'AES256-SHA' }), serverFilter);
    const [ci, si] = await Promise.all([c.secured, s.secured]);
    expect(ci.cipher).toBe('TLS_RSA_WITH_AES_256_CBC_SHA');
    expect(si.cipher).toBe('TLS_RSA_WITH_AES_256_CBC_SHA');
    await roundTrip(c, s);
  });

  it('reports the peer certificate byte for byte', async () => {
    const { c } = pair(clientFilter, serverFilter);
    const info = await c.secured;
    expect(info.protocol).toBe('TLSv1');
    expect(info.peerCertificate!.fingerprint256).toBe(new X509Certificate(certs.server.cert).fingerprint256);
  });

  it('fails a client whose minVersion is above what the server chose', async () => {
    const { c } = pair(tls.client({ ...forge, minVersion: 'TLSv1.1', ca: certs.ca.cert }), serverFilter);
    const err = await failureOf(c.secured);
    expect(err.code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
    expect(err.message).toMatch(/below minVersion TLSv1\.1/);
  });
});

// Hands every chunk up in pieces of 1–7 bytes: TLS records arrive cut at
// every possible place.
const fragmenting = fragment({ sizes: [1, 2, 3, 4, 5, 6, 7], direction: 'in' }, 'fragmenting');

// A layer that holds what arrives for one turn of the event loop and hands
// it up as one chunk: records sent one after the other arrive together.
class Batching extends Layer {
  #held: Buffer[] = [];
  protected override transformIn(chunk: Buffer): void {
    if (this.#held.length === 0) {
      setImmediate(() => {
        const all = Buffer.concat(this.#held);
        this.#held = [];
        this.pushUp(all);
      });
    }
    this.#held.push(chunk);
  }
}
const batching: Filter = { name: 'batching', attach: (lower) => new Batching(lower, { name: 'batching' }) };

describe('forge engine: records', () => {
  it('handshakes and moves records one byte at a time', async () => {
    const { c, s } = pair(clientFilter, serverFilter, { maxChunkSize: 1 });
    await roundTrip(c, s);
    const data = randomBytes(40_000);
    const got = s.receiveExactly(data.length);
    await c.send(data);
    expect((await got).equals(data)).toBe(true);
  });

  it('takes many records in one chunk and cut anywhere, and keeps excess plaintext', async () => {
    const { c, s } = pair([fragmenting, clientFilter], [fragmenting, serverFilter]);
    const data = randomBytes(300_000);
    const got = s.receiveExactly(data.length);
    await c.send(data);
    expect(sha256(await got)).toBe(sha256(data));
    await s.send('pong and more');
    expect((await c.receiveExactly(4)).toString()).toBe('pong');
    expect((await c.receiveExactly(9)).toString()).toBe(' and more');
  });

  it('sends what is written and ended during the handshake, in order', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    c.write('written ');
    c.write('early');
    c.end();
    let got = '';
    for (let chunk = await s.receive(); chunk !== null; chunk = await s.receive()) got += chunk.toString();
    expect(got).toBe('written early');
    expect(s.tls!.peerClose).toBe('close_notify');
  });
});

describe('forge engine: close', () => {
  it('half-closes both ways with close_notify', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    await roundTrip(c, s);
    await s.close();
    expect(await c.receive()).toBe(null);
    expect(c.tls!.peerClose).toBe('close_notify');
    await c.send('after the server closed');
    expect((await s.receiveExactly(23)).toString()).toBe('after the server closed');
    await c.close();
    expect(await s.receive()).toBe(null);
  });

  it('reports a bare transport end as truncation', async () => {
    const { a, c, s } = pair(clientFilter, serverFilter);
    await roundTrip(c, s);
    a.end();
    expect((await failureOf(s.receive())).code).toBe('ERR_WIRESTACK_TLS_TRUNCATED');
  });

  it('accepts a bare end with allowTruncation', async () => {
    const { a, c, s } = pair(clientFilter, tls.server({ ...forge, ...certs.server, allowTruncation: true }));
    await roundTrip(c, s);
    a.end();
    expect(await s.receive()).toBe(null);
    expect(s.tls!.peerClose).toBe('transport');
  });

  it('pops the TLS layer on both sides and goes on in plaintext with the bytes after close_notify', async () => {
    for (const opts of [{}, { maxChunkSize: 1 }]) {
      const { c, s } = pair(clientFilter, serverFilter, opts);
      await roundTrip(c, s);
      await Promise.all([c.pop(), s.pop().then(() => s.send('plain right after'))]);
      expect(c.layers).toEqual([]);
      expect((await c.receiveExactly(17)).toString()).toBe('plain right after');
      await c.send('plain back');
      expect((await s.receiveExactly(10)).toString()).toBe('plain back');
    }
  });
  it('pops on the side that gets the close_notify first, reacting to the reply before it', async () => {
    for (const below of [[], [batching]]) {
      const { c, s } = pair([...below, clientFilter], serverFilter);
      await c.send('STOPTLS');
      expect((await s.receiveExactly(7)).toString()).toBe('STOPTLS');
      // The server's reply, its close_notify and its first plaintext leave
      // one after the other (and, through the batching layer, arrive together).
      s.write('OK');
      const serverPopped = s.pop().then(() => s.send('plain from server'));
      expect((await c.receiveExactly(2)).toString()).toBe('OK');
      await c.pop();
      await serverPopped;
      expect((await c.receiveExactly(17)).toString()).toBe('plain from server');
      await c.send('plain from client');
      expect((await s.receiveExactly(17)).toString()).toBe('plain from client');
    }
  });
});

describe('forge engine: failures', () => {
  it('bounds what it keeps after the peer\'s close_notify when nothing pops the layer', async () => {
    const { c, s } = pair(clientFilter, serverFilter);
    await roundTrip(c, s);
    const popped = c.pop();
    expect(await s.receive()).toBe(null);
    s.end();
    await popped;
    c.write(randomBytes(2 << 20));
    const err = await new Promise<WirestackError>((resolve) => s.once('error', resolve));
    expect(err.code).toBe('ERR_WIRESTACK_TLS');
    expect(err.message).toMatch(/after its close_notify/);
    c.destroy();
  });


  it('names the alert of a node server that wants TLS 1.2', async () => {
    const { c, s } = pair(clientFilter, tls.server(certs.server));
    const err = await failureOf(c.secured);
    expect(err.code).toBe('ERR_WIRESTACK_TLS_ALERT');
    expect(err.alert).toBe('protocol_version');
    expect((await failureOf(s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
  });

  it('names the alert of a forge server refusing a client without a certificate', async () => {
    const { c, s } = pair(clientFilter, tls.server({ ...forge, ...certs.server, ca: certs.ca.cert, requestCert: true }));
    expect((await failureOf(s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
    const err = await failureOf(c.secured);
    expect(err.code).toBe('ERR_WIRESTACK_TLS_ALERT');
    // forge's choice of alert for a missing certificate.
    expect(err.alert).toBe('illegal_parameter');
  });

  it('times out a handshake the peer never answers', async () => {
    const [a, b] = duplexPair();
    b.resume();
    b.on('error', () => {});
    const c = wrap(a, tls.client({ ...forge, ca: certs.ca.cert, handshakeTimeout: 50 }), { role: 'client', remote: { host: 'localhost' } });
    expect((await failureOf(c.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT');
    expect(c.destroyed).toBe(true);
  });

  it('fails a handshake when the peer speaks no TLS', async () => {
    const [a, b] = duplexPair();
    const s = wrap(a, serverFilter, { role: 'server' });
    b.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await failureOf(s.secured)).code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
  });

  it('fails when a record is tampered with', async () => {
    const { b, c, s } = pair(clientFilter, serverFilter);
    await roundTrip(c, s);
    // Flip a byte of the next record the client's side receives.
    const original = b.write.bind(b);
    let flipped = false;
    b.write = ((chunk: Buffer, ...rest: never[]) => {
      if (!flipped && Buffer.isBuffer(chunk) && chunk.length > 10) {
        flipped = true;
        chunk = Buffer.from(chunk);
        chunk[chunk.length - 3]! ^= 0xff;
      }
      return original(chunk, ...rest);
    }) as typeof b.write;
    await s.send('tampered').catch(() => {});
    const err = await failureOf(c.receive());
    expect(err.code).toBe('ERR_WIRESTACK_TLS');
    expect(err.message).toMatch(/bad_record_mac/);
  });
});

// What a failing layer waits for: its alert to leave, at most once (layer.ts, FAIL_FLUSH_MS).
describe('forge engine: a failure costs one bounded wait', () => {
  it('surfaces once its alert is written, not after a wait in the engine and another in the layer', async () => {
    // The engine is loaded on first use (forge-lazy.ts): have it loaded before the clock is faked.
    const warm = pair(clientFilter, serverFilter);
    await roundTrip(warm.c, warm.s);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // A transport that finishes each write only when the test says, with room for 64 bytes.
      const held: Array<() => void> = [];
      const lower = new Duplex({ highWaterMark: 64, read() {}, write(_chunk, _encoding, callback) { held.push(callback); } });
      const c = wrap(lower, clientFilter, { role: 'client', remote: { host: 'localhost' } });
      let failed: WirestackError | undefined;
      c.secured.catch((err: WirestackError) => { failed = err; });
      while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      // A ServerHello too short to read: forge answers with an alert, queued behind the
      // ClientHello still in flight, and fails.
      lower.push(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]));
      await vi.advanceTimersByTimeAsync(150);
      // The ClientHello leaves; what follows it (the alert) is held in turn.
      for (const done of held.splice(0)) done();
      await vi.advanceTimersByTimeAsync(60);
      expect(failed?.code).toBe('ERR_WIRESTACK_TLS_HANDSHAKE');
      expect(c.destroyed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('forge engine: key log', () => {
  it('writes the same CLIENT_RANDOM line on both sides', async () => {
    const lines: string[][] = [[], []];
    const sink = (into: string[]) => new Writable({ write(chunk: Buffer, _e, cb) { into.push(chunk.toString()); cb(); } });
    const { c, s } = pair(tls.client({ ...forge, ca: certs.ca.cert, keylog: sink(lines[0]!) }),
      tls.server({ ...forge, ...certs.server, keylog: sink(lines[1]!) }));
    await roundTrip(c, s);
    expect(lines[0]).toHaveLength(1);
    expect(lines[0]![0]).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
    expect(lines[1]).toEqual(lines[0]);
  });
});

import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { duplexPair, tls, wrap, type Filter, type WirestackError } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

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
    const [ci, si] = await Promise.all([c.secured, s.secured]);
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

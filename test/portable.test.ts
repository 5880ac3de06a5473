// The browser build's twins (*.browser.ts), held to their Node modules here
// in Node: the same exports, the same answers (IP addresses, certificates,
// SHA-256), and a deflate layer on pako that talks to the zlib one byte for
// byte and keeps the same limits. test/runtimes/browser.test.ts runs them in
// Chromium itself.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeflateLayer as PakoLayer } from '../filters/deflate-layer.browser.js';
import { DeflateLayer as ZlibLayer } from '../filters/deflate-layer.js';
import type { DeflateSettings } from '../filters/deflate.js';
import * as forgeX509 from '../filters/tls/x509.browser.js';
import * as nodeX509 from '../filters/tls/x509.js';
import { isIP } from '../lib/ip.js';
import { type Connection, type Filter, duplexPair, isWirestackError, wrap } from '../lib/index.js';
import { filterChecks, makeCertificates } from '../lib/testing/index.js';
import { sha256 as forgeSha256 } from '../lib/testing/sha256.browser.js';
import { sha256 as nodeSha256 } from '../lib/testing/sha256.js';

const ROOT = join(import.meta.dirname, '..');
const MiB = 1024 * 1024;

function twins(): string[] {
  const found: string[] = [];
  for (const dir of ['lib', 'lib/testing', 'filters', 'filters/tls']) {
    for (const file of readdirSync(join(ROOT, dir))) if (file.endsWith('.browser.ts')) found.push(join(ROOT, dir, file));
  }
  return found;
}

describe('the browser twins', () => {
  it.each(twins().map((twin) => [relative(ROOT, twin)]))('%s exports what its Node module exports', async (twin) => {
    const browser = await import(join(ROOT, twin)) as Record<string, unknown>;
    const node = await import(join(ROOT, twin.replace('.browser.ts', '.ts'))) as Record<string, unknown>;
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
  });

  it('isIP (lib/ip.ts, for code without node:net) agrees with node:net', () => {
    const inputs = ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '01.2.3.4', '::1', '::', 'fe80::1%eth0',
      '2001:db8::8a2e:370:7334', '::ffff:192.0.2.1', '1::2::3', '[::1]', 'localhost', 'example.com', '', '12345', 'g::1',
      '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:1.2.3.4', 'fe80::1%'];
    for (const input of inputs) expect(isIP(input), input).toBe(net.isIP(input));
  });

  it('x509.browser.ts (forge) describes certificates and checks host names as x509.ts (OpenSSL) does', () => {
    const certs = makeCertificates({ names: ['localhost', 'a.example.com', '*.wild.example.com', 'f*.partial.example.com', '127.0.0.1', '::1', 'fe80::1:2'] });
    const noDns = makeCertificates({ names: ['10.1.2.3'], commonName: 'cn-only.example.com' });
    for (const pem of [certs.server.cert, certs.ca.cert, certs.client.cert, noDns.server.cert]) {
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      expect(forgeX509.describeCertificate(der)).toEqual(nodeX509.describeCertificate(der));
      const hosts = ['localhost', 'LOCALHOST', 'localhost.', 'a.example.com', 'b.example.com', 'x.wild.example.com', 'wild.example.com',
        'x.y.wild.example.com', 'foo.partial.example.com', 'bar.partial.example.com', 'xn--f-abc.partial.example.com', '127.0.0.1',
        '127.0.0.2', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'fe80:0::1:2', 'FE80::1:2', '10.1.2.3', 'cn-only.example.com', 'client', 'example.com'];
      for (const host of hosts) {
        expect(forgeX509.certificateMatchesHost(der, host), `${host} against ${nodeX509.describeCertificate(der).subject}`)
          .toBe(nodeX509.certificateMatchesHost(der, host));
      }
    }
  });

  it('sha256.browser.ts (forge) hashes as node:crypto does, whatever the pieces', () => {
    const data = randomBytes(MiB + 12345);
    const forge = forgeSha256();
    const node = nodeSha256();
    for (let i = 0; i < data.length;) {
      const n = 1 + ((i * 7919) % 70_000);
      forge.update(data.subarray(i, i + n));
      node.update(data.subarray(i, i + n));
      i += n;
    }
    expect(forge.digest()).toBe(node.digest());
  });
});

// ── deflate on pako (the browser's) against deflate on zlib (Node's) ────────

const settings = (overrides: Partial<DeflateSettings> = {}): DeflateSettings => ({
  algorithm: 'deflate', level: undefined, maxInflatedBytes: 16 * MiB, maxRatio: 1000, ...overrides,
});
const pako = (overrides?: Partial<DeflateSettings>): Filter => ({ name: 'deflate', attach: (lower) => new PakoLayer(lower, 'deflate', settings(overrides)) });
const zlib = (overrides?: Partial<DeflateSettings>): Filter => ({ name: 'deflate', attach: (lower) => new ZlibLayer(lower, 'deflate', settings(overrides)) });

function errorOf(conn: Connection): Promise<Error> {
  return new Promise((resolve) => (conn.errored ? resolve(conn.errored) : conn.once('error', resolve)));
}

// What one codec's layer writes below for each of `writes` (one flushed block per write), then for the end.
async function framing(filter: Filter, writes: Buffer[]): Promise<Buffer[]> {
  const [a, b] = duplexPair();
  b.on('error', () => {});
  const conn = wrap(a, [filter], { role: 'client' });
  let arrived: Buffer[] = [];
  b.on('data', (chunk: Buffer) => arrived.push(chunk));
  const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  const blocks: Buffer[] = [];
  for (const write of [...writes, null]) {
    if (write === null) await conn.close();
    else await conn.send(write);
    await settled();
    blocks.push(Buffer.concat(arrived));
    arrived = [];
  }
  conn.destroy();
  return blocks;
}

describe('deflate on pako (the browser build\'s) and on zlib (Node\'s)', () => {
  it('write the same bytes: one sync-flushed block per write, byte for byte, and the same final block', async () => {
    const writes = [Buffer.from('hello'), randomBytes(3001), Buffer.alloc(70_000, 'abc'), Buffer.from('hello'), randomBytes(100_000)];
    expect(await framing(pako(), writes)).toEqual(await framing(zlib(), writes));
    expect(await framing(pako({ level: 1 }), writes)).toEqual(await framing(zlib({ level: 1 }), writes));
  });

  describe('checkFilter: a pako client with a zlib server', () => {
    for (const check of filterChecks(() => ({ client: pako(), server: zlib() }), { seed: 20261130, bigTransferBytes: 4 * MiB })) it(check.name, () => check.run());
  });

  describe('checkFilter: a zlib client with a pako server', () => {
    for (const check of filterChecks(() => ({ client: zlib(), server: pako() }), { seed: 20261130, bigTransferBytes: 4 * MiB })) it(check.name, () => check.run());
  });

  // A run of zeros, flushed per MiB: each MiB is about a kilobyte compressed.
  function zerosBomb(mebibytes: number): Buffer {
    return deflateRawSync(Buffer.alloc(mebibytes * MiB));
  }

  it('stops a decompression bomb at maxInflatedBytes and at maxRatio, as the zlib layer does', async () => {
    const bomb = zerosBomb(64);
    for (const [overrides, what] of [[{ maxInflatedBytes: 4 * MiB, maxRatio: Infinity }, 'maxInflatedBytes'], [{ maxRatio: 100 }, 'maxRatio']] as const) {
      const [raw, end] = duplexPair();
      const server = wrap(end, [pako(overrides)], { role: 'server' });
      let received = 0;
      server.on('data', (chunk: Buffer) => { received += chunk.length; });
      const failed = errorOf(server);
      raw.on('error', () => {});
      raw.write(bomb);
      const err = await failed;
      expect(isWirestackError(err) && err.code, what).toBe('ERR_WIRESTACK_INFLATE_LIMIT');
      expect(err.message).toContain(what);
      expect(received).toBeLessThanOrEqual(8 * MiB);
    }
  });

  it('fails corrupt input, bytes after the final block, and a stream cut short with ERR_WIRESTACK_INFLATE', async () => {
    const whole = deflateRawSync(Buffer.from('a complete stream'));
    const cases = [
      { what: 'corrupt', bytes: Buffer.from([0xff, 0xff, 0xff, 0xff]), end: false },
      { what: 'bytes after the end', bytes: Buffer.concat([whole, Buffer.from('extra')]), end: false },
      { what: 'cut short', bytes: whole.subarray(0, whole.length - 2), end: true },
    ];
    for (const { what, bytes, end } of cases) {
      const [raw, serverEnd] = duplexPair();
      const server = wrap(serverEnd, [pako()], { role: 'server' });
      server.resume();
      const failed = errorOf(server);
      raw.on('error', () => {});
      if (end) raw.end(bytes);
      else raw.write(bytes);
      const err = await failed;
      expect(isWirestackError(err) && err.code, what).toBe('ERR_WIRESTACK_INFLATE');
    }
  });

  it('refuses brotli with ERR_WIRESTACK_UNSUPPORTED_RUNTIME', () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    expect(() => wrap(a, [pako({ algorithm: 'brotli' })])).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_UNSUPPORTED_RUNTIME' }));
  });
});

describe('forge\'s random numbers in the browser build', () => {
  it('come from crypto.getRandomValues once forge-random.browser.ts has run', async () => {
    const { useSecureRandom } = await import('../filters/tls/forge-random.browser.js');
    const forge = (await import('node-forge')).default;
    const real = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
    let asked = 0;
    const spy = <T extends ArrayBufferView | null>(array: T): T => {
      asked += (array as unknown as Uint8Array).length;
      return real(array as unknown as Uint8Array) as unknown as T;
    };
    const original = globalThis.crypto.getRandomValues;
    globalThis.crypto.getRandomValues = spy as typeof original;
    try {
      useSecureRandom();
      const seed = (forge.random as unknown as { seedFileSync(n: number): string }).seedFileSync(20_000);
      expect(seed).toHaveLength(20_000);
      expect(asked).toBe(20_000);
    } finally {
      globalThis.crypto.getRandomValues = original;
    }
  });
});

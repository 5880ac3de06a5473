// The browser build in real headless Chromium: the filters and the testing
// kit inside the page, and WebSocket round trips from the page to Node —
// straight to listen({ webSocket: true }), and through `wirestack relay
// --websocket` to a TCP service, TLS inside.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, type Filter, type Listener, deflate, listen, tls } from '../../lib/index.js';
import { makeCertificates } from '../../lib/testing/index.js';
import { type Running, assertBuilt, start } from '../cli.js';
import { type BrowserPage, openPage, runInPage } from './chromium.js';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'browser');
const MiB = 1024 * 1024;
const certs = makeCertificates();
// A node-engine server a forge client can talk to (TLS 1.0/1.1, RSA key exchange, AES-CBC).
const legacyServer = (): Filter => tls.server({ cert: certs.server.cert, key: certs.server.key, minVersion: 'TLSv1', ciphers: 'AES128-SHA:AES256-SHA:@SECLEVEL=0' });

let browser: BrowserPage;
const listeners: Listener[] = [];
const children: Running[] = [];

beforeAll(async () => {
  assertBuilt();
  browser = await openPage();
}, 60_000);

afterAll(async () => {
  for (const running of children) running.child.kill();
  await Promise.all(listeners.map((l) => l.close({ drain: false })));
  await browser?.close();
});

interface Echoed {
  sent: string;
  received: string;
  receivedBytes: number;
  errored: string | null;
  protocol: string | null;
  authorized: boolean | null;
}

// An echo service over `filters` that also hashes what it received.
async function echoService(target: { webSocket: boolean }, filters: Filter[]): Promise<{ port: number; hashes: string[] }> {
  const hashes: string[] = [];
  const listener = await listen({ host: '127.0.0.1', port: 0, ...target }, filters, async (conn: Connection) => {
    const hash = createHash('sha256');
    for await (const chunk of conn) {
      hash.update(chunk);
      await conn.send(chunk);
    }
    await conn.close();
    hashes.push(hash.digest('hex'));
  });
  listeners.push(listener);
  return { port: (listener.address() as { port: number }).port, hashes };
}

function echoIn(stack: 'deflate' | 'tls', url: string, bytes: number): Promise<Echoed> {
  return runInPage<Echoed>(browser.page, 'echo', { url, stack, ca: certs.ca.cert, bytes });
}

describe('the browser build', () => {
  it('is self-contained: no module outside it is imported, so a page loads it with nothing configured', () => {
    const files = [...readdirSync(DIST).filter((f) => f.endsWith('.js')), ...readdirSync(join(DIST, 'chunks')).map((f) => `chunks/${f}`)]
      .filter((f) => f.endsWith('.js'));
    for (const file of files) {
      const code = readFileSync(join(DIST, file), 'utf8');
      const imports = [...code.matchAll(/^(?:import|export)\s[^;]*?from\s*'([^']+)'/gm)].map((m) => m[1]!);
      expect(imports.filter((spec) => !spec.startsWith('./')), file).toEqual([]);
      expect(code, file).not.toMatch(/\bimport\(\s*['"]node:/);
    }
  });

  it('passes checkFilter in Chromium: identity, log over deflate (pako), the testing filters and forge TLS over in-page memory pairs, certificates made in the page; a fault fails on purpose', async () => {
    const result = await runInPage<{ took: Record<string, number>; faultCode: string; userAgent: string }>(browser.page, 'conformance', { bigTransferBytes: 2 * MiB });
    expect(result.userAgent).toContain('Chrome/');
    expect(Object.keys(result.took)).toEqual(['identity', 'logDeflate', 'testingFilters', 'makeCertificates', 'forgeTls']);
    expect(result.faultCode).toBe('ERR_WIRESTACK_FAULT');
  }, 120_000);

  it('fails the Node-only parts with ERR_WIRESTACK_UNSUPPORTED_RUNTIME, naming the browser', async () => {
    const results = await runInPage<Record<string, string>>(browser.page, 'nodeOnlyParts');
    expect(Object.keys(results)).toHaveLength(8);
    for (const [part, outcome] of Object.entries(results)) {
      expect(outcome, part).toMatch(/^ERR_WIRESTACK_UNSUPPORTED_RUNTIME: .*running in a browser \(Chrome \d+\)/);
    }
  });
});

describe('from the page over a WebSocket', () => {
  it('echoes 4 MiB through deflate with a Node listen({ webSocket: true }) (zlib there, pako here), SHA-256 checked on both ends', async () => {
    const service = await echoService({ webSocket: true }, [deflate()]);
    const echoed = await echoIn('deflate', `ws://127.0.0.1:${service.port}/`, 4 * MiB);
    expect(echoed.errored, browser.log.join('\n')).toBeNull();
    expect(echoed.receivedBytes).toBe(4 * MiB);
    expect(echoed.received).toBe(echoed.sent);
    expect(service.hashes).toEqual([echoed.sent]);
  }, 60_000);

  it('echoes 4 MiB through forge TLS against a node-engine TLS server, the server\'s certificate verified in the page', async () => {
    const service = await echoService({ webSocket: true }, [legacyServer()]);
    const echoed = await echoIn('tls', `ws://127.0.0.1:${service.port}/`, 4 * MiB);
    expect(echoed.errored, browser.log.join('\n')).toBeNull();
    expect(echoed).toMatchObject({ authorized: true, protocol: 'TLSv1.1', receivedBytes: 4 * MiB, received: echoed.sent });
    expect(service.hashes).toEqual([echoed.sent]);
  }, 60_000);

  it('reaches a TCP echo service through `wirestack relay --websocket`, TLS inside end to end', async () => {
    const service = await echoService({ webSocket: false }, [legacyServer()]);
    const relay = start(['relay', '--websocket', '127.0.0.1:0', '--to', `127.0.0.1:${service.port}`, '-q']);
    children.push(relay);
    const url = await new Promise<string>((resolve, reject) => {
      relay.child.stderr.on('data', () => {
        const match = /listening on (ws:\/\/\S+)/.exec(relay.stderr());
        if (match) resolve(match[1]!);
      });
      relay.done.then((code) => reject(new Error(`the relay exited (${code}):\n${relay.stderr()}`)));
    });
    const echoed = await echoIn('tls', url, MiB);
    expect(echoed.errored, browser.log.join('\n')).toBeNull();
    expect(echoed).toMatchObject({ authorized: true, receivedBytes: MiB, received: echoed.sent });
    expect(service.hashes).toEqual([echoed.sent]);
  }, 60_000);
});

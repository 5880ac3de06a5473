// The node engine fails closed: its certificate verdict is Node's public
// one (authorized / authorizationError), never the private handle's, and
// every private Node API it uses for speed has a public fallback chosen
// before a session opens. Here Node is changed on purpose, as a future
// Node might be, and each time the outcome must be the safe one: an
// untrusted chain refused, a clean close told from a truncation, errors
// coded. `npm run test:no-internals` runs this file again with
// WIRESTACK_NODE_INTERNALS=0.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import tls from 'node:tls';
import util from 'node:util';
import { Duplex } from 'node:stream';
import * as wirestack from '../lib/index.js';
import type { Connection, Filter, SecureInfo, TlsClientOptions, WirestackError } from '../lib/index.js';
import { fault, makeCertificates } from '../lib/testing/index.js';
import { closeBothWays, nodeInternals, sha256 } from './helpers.js';

type Library = typeof wirestack;

const certs = makeCertificates();
const stranger = makeCertificates({ label: 'stranger' });

async function failureOf(promise: Promise<unknown>): Promise<WirestackError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (err: WirestackError) => err);
}

function memoryPair(lib: Library, client: Filter[], server: Filter[]): { c: Connection; s: Connection } {
  const [a, b] = lib.duplexPair();
  return {
    c: lib.wrap(a, client, { role: 'client', remote: { host: 'localhost' } }),
    s: lib.wrap(b, server, { role: 'server' }),
  };
}

async function tcpPair(lib: Library, client: Filter[], server: Filter[]): Promise<{ c: Connection; s: Connection; close: () => Promise<void> }> {
  let accepted!: (conn: Connection) => void;
  const got = new Promise<Connection>((resolve) => { accepted = resolve; });
  const listener = await lib.listen({ host: '127.0.0.1', port: 0 }, server, (conn) => accepted(conn));
  const c = await lib.connect({ host: 'localhost', port: (listener.address() as { port: number }).port }, client);
  return { c, s: await got, close: () => listener.close({ drain: false }) };
}

// ── Changing Node ─────────────────────────────────────────────────────────

// Undo functions for what the running test changed.
const restore: Array<() => void> = [];
afterEach(() => {
  for (const undo of restore.splice(0).reverse()) undo();
});

function replaceMethod<T extends object>(target: T, name: string, make: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): void {
  const owner = target as Record<string, unknown>;
  const own = Object.hasOwn(owner, name);
  const original = owner[name] as (...args: unknown[]) => unknown;
  owner[name] = make(original);
  restore.push(() => {
    if (own) owner[name] = original;
    else delete owner[name];
  });
}

// Lets `tamper` change a TLS socket right after Node computed its verdict
// (as a client, before 'secureConnect'; as a tls.Server, before
// 'secureConnection') and before anything listening could read it.
function afterNodesVerdict(tamper: (socket: tls.TLSSocket) => void): void {
  replaceMethod(tls.TLSSocket.prototype, 'emit', (emit) => function (this: tls.TLSSocket, ...args: unknown[]) {
    if (args[0] === 'secureConnect') tamper(this);
    return emit.apply(this, args);
  });
  replaceMethod(tls.Server.prototype, 'emit', (emit) => function (this: tls.Server, ...args: unknown[]) {
    if (args[0] === 'secureConnection') tamper(args[1] as tls.TLSSocket);
    return emit.apply(this, args);
  });
}

const handleOf = (socket: tls.TLSSocket): Record<string, unknown> => (socket as unknown as { _handle: Record<string, unknown> })._handle;

// The private verdict, as a changed Node might have it.
const PRIVATE_VERDICT = {
  lies: (socket: tls.TLSSocket) => { handleOf(socket).verifyError = () => null; },
  'is gone': (socket: tls.TLSSocket) => { handleOf(socket).verifyError = undefined; },
} as const;

// A library with fresh module state, so that it probes Node's internals again (after a change).
async function freshLibrary(): Promise<Library> {
  vi.resetModules();
  return import('../lib/index.js');
}

// ── The verdict ───────────────────────────────────────────────────────────

describe('the certificate verdict is Node\'s public one, whatever the private handle says', () => {
  for (const [how, tamper] of Object.entries(PRIVATE_VERDICT)) {
    it(`a client refuses an untrusted server when the handle's verifyError ${how} (memory and TCP)`, async () => {
      afterNodesVerdict(tamper);
      const lib = wirestack;
      const server = [lib.tls.server(stranger.server)];
      const client = [lib.tls.client({ ca: certs.ca.cert })];
      const { c } = memoryPair(lib, client, server);
      expect((await failureOf(c.secured)).code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
      const tcp = await tcpPair(lib, client, server);
      expect((await failureOf(tcp.c.secured)).code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
      await tcp.close();
    });

    it(`a mutual-TLS server judges a client from another CA when the handle's verifyError ${how}`, async () => {
      afterNodesVerdict(tamper);
      const lib = wirestack;
      const client = [lib.tls.client({ ca: certs.ca.cert, cert: stranger.client.cert, key: stranger.client.key })];
      const lenient = memoryPair(lib, client, [lib.tls.server({ ...certs.server, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: false })]);
      const info = await lenient.s.secured;
      expect(info.authorized).toBe(false);
      expect(info.authorizationError).toMatch(/^ERR_WIRESTACK_TLS_UNKNOWN_CA: /);
      const strict = memoryPair(lib, client, [lib.tls.server({ ...certs.server, ca: certs.ca.cert, requestCert: true })]);
      expect((await failureOf(strict.s.secured)).code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    });
  }

  it('a trusted chain is refused when Node gives no public verdict at all (fails closed)', async () => {
    afterNodesVerdict((socket) => {
      Object.assign(socket, { authorized: undefined, authorizationError: undefined });
    });
    const lib = wirestack;
    const { c } = memoryPair(lib, [lib.tls.client({ ca: certs.ca.cert })], [lib.tls.server(certs.server)]);
    const err = await failureOf(c.secured);
    expect(err.code).toBe('ERR_WIRESTACK_TLS_CERT_INVALID');
    expect(err.message).toMatch(/no verdict/);
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`a resumed session keeps its first handshake's verdict: untrusted stays untrusted (${maxVersion})`, async () => {
      const lib = wirestack;
      const server = lib.tls.server({ ...stranger.server, maxVersion });
      const options: TlsClientOptions = { ca: certs.ca.cert, maxVersion };
      const first = memoryPair(lib, [lib.tls.client({ ...options, rejectUnauthorized: false })], [server]);
      const session = new Promise<Buffer>((resolve) => first.c.once('session', resolve));
      expect((await first.c.secured).authorized).toBe(false);
      await first.c.send('x');
      await first.s.receiveExactly(1);
      const saved = await session;
      const lenient = memoryPair(lib, [lib.tls.client({ ...options, rejectUnauthorized: false, session: saved })], [server]);
      const info: SecureInfo = await lenient.c.secured;
      expect([info.resumed, info.authorized]).toEqual([true, false]);
      expect(info.authorizationError).toMatch(/^ERR_WIRESTACK_TLS_UNKNOWN_CA: /);
      const strict = memoryPair(lib, [lib.tls.client({ ...options, session: saved })], [server]);
      expect((await failureOf(strict.c.secured)).code).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    });
  }
});

// ── Fallbacks ─────────────────────────────────────────────────────────────

// What every path must still do: bytes intact both ways, a close_notify
// seen as one, a bare end of the transport seen as a truncation.
async function keepsTheGuarantees(lib: Library, transport: 'memory' | 'tcp', expectedPath: 'native' | 'stream'): Promise<void> {
  const client = [lib.tls.client({ ca: certs.ca.cert })];
  const server = [lib.tls.server(certs.server)];
  const clean = transport === 'tcp' ? await tcpPair(lib, client, server) : { ...memoryPair(lib, client, server), close: async () => {} };
  const { c, s } = clean;
  const data = randomBytes(1 << 20);
  const got = s.receiveExactly(data.length);
  await c.send(data);
  expect(sha256(await got)).toBe(sha256(data));
  expect([c.tls!.path, s.tls!.path]).toEqual([expectedPath, expectedPath]);
  await s.send('back');
  expect((await c.receiveExactly(4)).toString()).toBe('back');
  await closeBothWays(c, s);
  await clean.close();

  const cut = transport === 'tcp' ? await tcpPair(lib, client, server) : { ...memoryPair(lib, client, server), close: async () => {} };
  await cut.c.send('x');
  await cut.s.receiveExactly(1);
  // An end below the server's TLS layer: no close_notify.
  cut.s.raw.stream.end();
  expect((await failureOf(cut.c.receive())).code).toBe('ERR_WIRESTACK_TLS_TRUNCATED');
  expect(cut.c.tls!.peerClose).toBe('transport');
  await cut.close();
}

describe('a private API that is not as expected is found out before a session opens, and the public path keeps every guarantee', () => {
  it('as a control, this Node as it is', async () => {
    await keepsTheGuarantees(wirestack, 'tcp', nodeInternals ? 'native' : 'stream');
    await keepsTheGuarantees(wirestack, 'memory', 'stream');
  });

  it('libuv\'s EALREADY unknown: no native path without allowTruncation (the stream path tells the ends apart)', async () => {
    const util_ = util as unknown as { getSystemErrorMap(): Map<number, [string, string]> };
    replaceMethod(util_, 'getSystemErrorMap', (original) => () =>
      new Map([...(original() as Map<number, [string, string]>)].filter(([, [name]]) => name !== 'EALREADY')));
    syncBuiltinESMExports();
    restore.push(() => syncBuiltinESMExports());
    await keepsTheGuarantees(await freshLibrary(), 'tcp', 'stream');
  });

  it('JSStreamSocket out of reach (no _parentWrap on the TLS handle): a public Duplex port instead of the cipher socket', async () => {
    replaceMethod(tls.TLSSocket.prototype, '_wrapHandle', (wrapHandle) => function (this: tls.TLSSocket, ...args: unknown[]) {
      const handle = wrapHandle.apply(this, args) as Record<string, unknown>;
      delete handle._parentWrap;
      return handle;
    });
    await keepsTheGuarantees(await freshLibrary(), 'memory', 'stream');
  });

  it('a bare server socket\'s errors unheard (no \'_tlsError\' event): servers made by tls.Server, errors still coded', async () => {
    replaceMethod(tls.TLSSocket.prototype, '_tlsError', () => function (this: { _controlReleased: boolean }, err: unknown) {
      return this._controlReleased ? err : null;
    });
    const lib = await freshLibrary();
    await keepsTheGuarantees(lib, 'tcp', 'stream');
    await corruptRecordIsCoded(lib);
  });

  it('JSStreamSocket that cannot be made any more: a coded failure, nothing thrown', async () => {
    const lib = await freshLibrary();
    // A first session: the probe has found the cipher socket usable (where internals are allowed).
    await keepsTheGuarantees(lib, 'memory', 'stream');
    const probe = new tls.TLSSocket(new Duplex({ read() {}, write(_c, _e, cb) { cb(); } }));
    const JsStreamSocket = (handleOf(probe)._parentWrap as object).constructor as { prototype: object };
    probe.destroy();
    replaceMethod(JsStreamSocket.prototype, 'read', () => () => { throw new TypeError('JSStreamSocket changed'); });
    const { c, s } = memoryPair(lib, [lib.tls.client({ ca: certs.ca.cert })], [lib.tls.server(certs.server)]);
    expect((await failureOf(c.secured)).code).toBe('ERR_WIRESTACK_TLS_UNSUPPORTED');
    expect((await failureOf(s.secured)).code).toMatch(/^ERR_WIRESTACK_/);
  });
});

// A record corrupted after the handshake reaches the server's TLS as an error with a code.
async function corruptRecordIsCoded(lib: Library): Promise<void> {
  const { c, s, close } = await tcpPair(lib, [fault({ corruptAt: 50_000, direction: 'out' }), lib.tls.client({ ca: certs.ca.cert })],
    [lib.tls.server(certs.server)]);
  await c.secured;
  c.write(randomBytes(100_000));
  const err = await failureOf(s.receiveExactly(100_000));
  expect(err.code).toBe('ERR_WIRESTACK_TLS');
  await close();
}

describe('errors after the handshake, on every server path', () => {
  it('a corrupted record is ERR_WIRESTACK_TLS on the server', async () => {
    await corruptRecordIsCoded(wirestack);
  });
});

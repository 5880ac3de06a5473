import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  Layer, duplexPair, identity, isWirestackError, log, wrap,
  type Connection, type Filter, type LogOptions,
} from '../lib/index.js';
import { PassThrough, Writable } from '../lib/stream.js';
import { filterChecks } from '../lib/testing/index.js';

import { tlsFilter as tlsPair } from './helpers.js';

// Log lines with their times replaced by "+T", so they can be compared exactly.
function untimed(lines: readonly string[]): string[] {
  return lines.map((line) => line.replace(/ \+\d+\.\d{3}ms /, ' +T '));
}

function pair(client: Filter[], server: Filter[] = [], options: Parameters<typeof duplexPair>[0] = {}): [Connection, Connection] {
  const [a, b] = duplexPair(options);
  return [wrap(a, client, { role: 'client' }), wrap(b, server, { role: 'server' })];
}

// A client with one logger over a memory pair, and the lines it logs.
function logged(options: LogOptions, pairOptions: Parameters<typeof duplexPair>[0] = {}): { client: Connection; server: Connection; lines: string[] } {
  const lines: string[] = [];
  const [client, server] = pair([log({ ...options, sink: (line) => lines.push(line) })], [], pairOptions);
  return { client, server, lines };
}

// Runs to both ends closed: the client sends, the server answers, both close.
async function exchange(client: Connection, server: Connection, request: Buffer | string, response: Buffer | string): Promise<void> {
  await client.send(request);
  await server.receiveExactly(Buffer.byteLength(request));
  await server.send(response);
  await client.receiveExactly(Buffer.byteLength(response));
  await client.close();
  expect(await server.receive()).toBe(null);
  await server.close();
  expect(await client.receive()).toBe(null);
  await closed(client);
}

function closed(conn: Connection): Promise<void> {
  return new Promise((resolve) => (conn.closed ? resolve() : conn.once('close', () => resolve())));
}

// The conformance suite: a logger in every format, at both ends, must pass everything an identity layer passes.
describe('checkFilter: log', () => {
  const discard = (): void => {};
  const makePair = () => ({
    client: [log({ format: 'hex', maxBytes: 32, sink: discard }), log({ format: 'text', maxBytes: 32, sink: discard })],
    server: log({ sink: discard }),
  });
  for (const check of filterChecks(makePair, { seed: 20261126 })) it(check.name, () => check.run());

  // Below TLS the logger parses records in both directions; that must not disturb the stream either.
  describe('on both sides of TLS', () => {
    const aroundTls = () => ({
      client: [log({ sink: discard }), tlsPair('client'), log({ format: 'text', sink: discard })],
      server: [log({ format: 'hex', maxBytes: 16, sink: discard }), tlsPair('server'), log({ sink: discard })],
    });
    for (const check of filterChecks(aroundTls, { seed: 20261126, bigTransferBytes: 4 << 20 })) it(check.name, () => check.run());
  });
});

describe('log', () => {
  it('summary: one line per chunk, then the ends and the close', async () => {
    const { client, server, lines } = logged({});
    await exchange(client, server, 'hello', 'a reply of 21 bytes..');
    expect(untimed(lines)).toEqual([
      'log +T out 5 bytes',
      'log +T in 21 bytes',
      'log +T out end',
      'log +T in end',
      'log +T close',
    ]);
    const times = lines.map((line) => Number(/\+(\d+\.\d{3})ms/.exec(line)![1]));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });

  it('changes no byte, whatever the fragmentation', async () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
    const { client, server, lines } = logged({ format: 'hex', maxBytes: 64 }, { maxChunkSize: 999 });
    const got = (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of server) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    await client.send(data);
    await client.close();
    expect((await got).equals(data)).toBe(true);
    expect(lines.filter((line) => line.startsWith('log ')).length).toBeGreaterThan(1);
  });

  // The dump must read exactly as xxd prints the same bytes at the same offset.
  it('hex: offset, hex and ASCII as xxd prints them, offsets running on across chunks', async () => {
    const first = Buffer.from('GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n');
    const second = Buffer.concat([Buffer.from([0, 1, 2, 0x7f, 0x80, 0xff]), Buffer.from('tail')]);
    const { client, server, lines } = logged({ format: 'hex' });
    await client.send(first);
    await server.receiveExactly(first.length);
    await client.send(second);
    await server.receiveExactly(second.length);
    const xxd = (bytes: Buffer, offset: number): string[] =>
      execFileSync('xxd', ['-o', String(offset)], { input: bytes }).toString().trimEnd().split('\n').map((line) => `  ${line}`);
    expect(untimed(lines)).toEqual([
      `log +T out ${first.length} bytes`,
      ...xxd(first, 0),
      `log +T out ${second.length} bytes`,
      ...xxd(second, first.length),
    ]);
    client.destroy();
  });

  it('text: one line per line, control characters escaped', async () => {
    const { client, server, lines } = logged({ format: 'text' });
    await exchange(client, server, 'EHLO example.org\r\nMAIL FROM:<a@b>\r\n', 'tab\there\0nul\nnaïve');
    expect(untimed(lines)).toEqual([
      'log +T out 35 bytes',
      '  | EHLO example.org\\r\\n',
      '  | MAIL FROM:<a@b>\\r\\n',
      'log +T in 19 bytes',
      '  | tab\\there\\x00nul\\n',
      '  | naïve',
      'log +T out end',
      'log +T in end',
      'log +T close',
    ]);
  });

  it('caps the bytes dumped per chunk at maxBytes', async () => {
    const { client, server, lines } = logged({ format: 'hex', maxBytes: 20 });
    await client.send(Buffer.alloc(100, 0x41));
    await server.receiveExactly(100);
    expect(untimed(lines)).toEqual([
      'log +T out 100 bytes',
      '  00000000: 4141 4141 4141 4141 4141 4141 4141 4141  AAAAAAAAAAAAAAAA',
      '  00000010: 4141 4141                                AAAA',
      '  … 80 more bytes not shown',
    ]);
    client.destroy();
  });

  it('logs an error with its code, then the close', async () => {
    const { client, server, lines } = logged({});
    const failed = new Promise<Error>((resolve) => client.once('error', resolve));
    await client.send('x');
    await server.receiveExactly(1);
    // A reset from the peer: the raw stream below the logger fails.
    server.raw.stream.destroy();
    const err = await failed;
    expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_TRANSPORT');
    await closed(client);
    expect(untimed(lines)).toEqual([
      'log +T out 1 byte',
      'log +T error ERR_WIRESTACK_TRANSPORT: raw: connection reset by the other end',
      'log +T close',
    ]);
  });

  it("level 'events' logs the ends and the close, no chunks", async () => {
    const { client, server, lines } = logged({ level: 'events' });
    await exchange(client, server, 'hello', 'there');
    expect(untimed(lines)).toEqual(['log +T out end', 'log +T in end', 'log +T close']);
  });

  // Off must mean off: no formatting at all, not formatting thrown away.
  for (const off of [{ enabled: false }, { level: 'off' as const }]) {
    it(`turned off (${JSON.stringify(off)}) it formats nothing: the layer is a plain pass-through`, async () => {
      let calls = 0;
      const [client, server] = pair([log({ ...off, format: 'hex', sink: () => calls++ })]);
      // The plain Layer has none of the logger's hooks, so no chunk is ever looked at.
      expect(Object.getPrototypeOf(client.layer('log'))).toBe(Layer.prototype);
      await exchange(client, server, 'hello', 'there');
      expect(calls).toBe(0);
    });
  }

  it('writes newline-terminated lines to a Writable sink, one write per chunk logged', async () => {
    const sink = new PassThrough();
    const writes: string[] = [];
    sink.on('data', (chunk: Buffer) => writes.push(chunk.toString()));
    const [client, server] = pair([log({ format: 'text', sink })]);
    await exchange(client, server, 'one\ntwo\n', 'ok');
    expect(untimed(writes.join('').trimEnd().split('\n'))).toEqual([
      'log +T out 8 bytes', '  | one\\n', '  | two\\n',
      'log +T in 2 bytes', '  | ok',
      'log +T out end', 'log +T in end', 'log +T close',
    ]);
    expect(writes[0]).toMatch(/^log \+\d+\.\d{3}ms out 8 bytes\n {2}\| one\\n\n {2}\| two\\n\n$/);
  });

  it('writes to stderr by default', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      const [client, server] = pair([log({ name: 'stderr-test' })]);
      await exchange(client, server, 'abc', 'de');
    } finally {
      process.stderr.write = write;
    }
    expect(untimed(written.join('').trimEnd().split('\n'))).toEqual([
      'stderr-test +T out 3 bytes', 'stderr-test +T in 2 bytes',
      'stderr-test +T out end', 'stderr-test +T in end', 'stderr-test +T close',
    ]);
  });

  // A slow sink slows the connection instead of queueing log lines without bound.
  it("honours a Writable sink's backpressure and loses no line", async () => {
    let release: (() => void) | null = null;
    const sink = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        release = callback;
      },
    });
    const [client, server] = pair([log({ sink })], [identity()], { highWaterMark: 1024 });
    const received = (async () => {
      let bytes = 0;
      for (let chunk = await server.receive(); chunk !== null; chunk = await server.receive()) bytes += chunk.length;
      return bytes;
    })();
    const sent = (async () => {
      for (let i = 0; i < 20; i++) await client.send(Buffer.alloc(100));
      await client.close();
    })();
    // Wait (bounded) for the first chunk, then give the sender time to overrun if it would.
    const logLayer = client.layer('log') as Layer;
    for (let i = 0; i < 500 && logLayer.stats.chunksOut < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The sink has taken one write and holds it: the sender is stopped behind it.
    expect(logLayer.stats.chunksOut).toBe(1);
    const lines: string[] = [];
    sink.write = ((chunk: string) => {
      lines.push(chunk);
      return true;
    }) as typeof sink.write;
    release!();
    await sent;
    expect(await received).toBe(2000);
    expect(lines.length).toBeGreaterThanOrEqual(19);
  });

  it('fails the connection with a coded error if the sink throws', async () => {
    const [client] = pair([log({ sink: () => { throw new Error('disk full'); } })]);
    const failed = new Promise<Error>((resolve) => client.once('error', resolve));
    client.write('x');
    const err = await failed;
    expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_LAYER');
    expect(err.message).toContain('disk full');
  });

  it('rejects bad options with ERR_WIRESTACK_INVALID_ARGUMENT', () => {
    for (const options of [{ maxBytes: -1 }, { format: 'xml' }, { level: 'debug' }] as LogOptions[]) {
      expect(() => log(options)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    }
  });

  it('can be removed from a live connection with pop()', async () => {
    const lines: string[] = [];
    const [client, server] = pair([identity(), log({ sink: (line) => lines.push(line) })]);
    await client.send('before');
    await server.receiveExactly(6);
    await client.pop();
    expect(client.layers.map((layer) => layer.name)).toEqual(['identity']);
    await exchange(client, server, 'after', 'reply');
    expect(untimed(lines)).toEqual(['log +T out 6 bytes', 'log +T removed']);
  });

  it("tls: 'auto' leaves plaintext alone; tls: true says it is not TLS", async () => {
    for (const tls of ['auto', true] as const) {
      const { client, server, lines } = logged({ tls });
      await client.send('GET / HTTP/1.1\r\n');
      await server.receiveExactly(16);
      const expected = ['log +T out 16 bytes'];
      if (tls === true) expected.push('  tls: not a TLS record header (47 45 54 20 2f); no longer parsing');
      expect(untimed(lines)).toEqual(expected);
      client.destroy();
    }
  });

  // STARTTLS: the logger below sees plaintext first, then TLS, and names the records once they start.
  it("tls: 'auto' notices TLS starting on a plaintext connection (STARTTLS)", async () => {
    const lines: string[] = [];
    const [client, server] = pair([log({ name: 'wire', sink: (line) => lines.push(line) })]);
    await client.send('STARTTLS\r\n');
    await server.receiveExactly(10);
    await server.send('220 go ahead\r\n');
    await client.receiveExactly(14);
    await Promise.all([client.push(tlsPair('client')), server.push(tlsPair('server'))]);
    await exchange(client, server, 'secret', 'reply');
    const shown = untimed(lines);
    expect(shown.slice(0, 3)).toEqual([
      'wire +T out 10 bytes',
      'wire +T in 14 bytes',
      expect.stringMatching(/^wire \+T out \d+ bytes$/),
    ]);
    expect(shown[3]).toMatch(/^ {2}tls handshake TLSv1\.0 length=\d+$/);
    expect(shown[5]).toMatch(/^ {2}tls handshake TLSv1\.2 length=\d+/);
    expect(shown.filter((line) => line.includes('not a TLS record'))).toEqual([]);
  });

  // One stack, two loggers: records below TLS, plaintext above it, a record split across chunks named once.
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) it(`below TLS (${maxVersion}) names the records, split across chunks; above TLS shows the plaintext`, async () => {
    const lines: string[] = [];
    const sink = (line: string): void => void lines.push(line);
    const wire: Buffer[] = [];
    // Pieces of at most 50 bytes: the handshake's records arrive split.
    const [client, server] = pair(
      [log({ name: 'wire', sink }), tlsPair('client', { maxVersion }), log({ name: 'plain', format: 'text', sink })],
      [tlsPair('server', { maxVersion })],
      { maxChunkSize: 50 },
    );
    client.raw.stream.on('data', (chunk: Buffer) => wire.push(chunk));
    await exchange(client, server, 'PING\r\n', 'PONG\r\n');

    // The wire logger below TLS: every line is a chunk, an event or a record.
    const wireLines = untimed(lines.filter((line) => line.startsWith('wire ') || line.startsWith('  tls')));
    expect(wireLines[0]).toMatch(/^wire \+T out \d+ bytes$/);
    expect(wireLines[1]).toMatch(/^ {2}tls handshake TLSv1\.0 length=\d+$/); // the ClientHello
    // Every record header the server sent, counted independently of the parser, is named exactly once.
    const incoming = Buffer.concat(wire);
    const headers: string[] = [];
    for (let at = 0; at < incoming.length; at += 5 + incoming.readUInt16BE(at + 3)) {
      headers.push(`${incoming[at]}:${incoming.readUInt16BE(at + 3)}`);
    }
    const typeNumbers: Record<string, number> = { handshake: 22, change_cipher_spec: 20, alert: 21, application_data: 23 };
    // Lines of the 'in' direction only: between an 'in' chunk line and the next chunk line.
    const inRecords: string[] = [];
    let direction = '';
    for (const line of wireLines) {
      const chunk = /^wire \+T (in|out) /.exec(line);
      if (chunk) direction = chunk[1]!;
      const named = /^ {2}tls (\w+) TLSv1\.[0-3] length=(\d+)/.exec(line);
      if (named && direction === 'in') inRecords.push(`${typeNumbers[named[1]!]}:${named[2]}`);
    }
    expect(inRecords).toEqual(headers);
    expect(wireLines).toContainEqual(expect.stringMatching(/^ {2}tls handshake TLSv1\.2 length=\d+ \(\d+ here, \d+ to come\)$/));
    expect(wireLines).toContainEqual(expect.stringMatching(/^ {2}tls … handshake continues: \d+ bytes \((\d+ to come|record complete)\)$/));
    expect(wireLines).toContainEqual(expect.stringMatching(/^ {2}tls change_cipher_spec TLSv1\.2 length=1$/));
    expect(wireLines).toContainEqual(expect.stringMatching(/^ {2}tls application_data TLSv1\.2 length=\d+$/));

    // The plaintext logger above TLS: exactly what the application sent and got.
    expect(untimed(lines.filter((line) => line.startsWith('plain ') || line.startsWith('  |')))).toEqual([
      'plain +T out 6 bytes', '  | PING\\r\\n',
      'plain +T in 6 bytes', '  | PONG\\r\\n',
      'plain +T out end', 'plain +T in end', 'plain +T close',
    ]);
  });
});

describe('log with a shared slow sink', () => {
  it('leaves no drain listener on the sink once its connections are gone', async () => {
    // A sink that never finishes a write: every logger waits for its 'drain'.
    const sink = new Writable({ highWaterMark: 1, write() { /* never calls back */ } });
    const conns: Connection[] = [];
    for (let i = 0; i < 20; i++) {
      const [a, b] = duplexPair();
      b.on('error', () => {});
      const conn = wrap(a, [log({ sink, format: 'summary' })]);
      void conn.send('x').catch(() => undefined);
      conns.push(conn);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.listenerCount('drain')).toBeGreaterThan(0);
    for (const conn of conns) conn.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.listenerCount('drain')).toBe(0);
  });
});

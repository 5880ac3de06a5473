import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Connection, type Filter, listen, connect, wrap } from '../lib/index.js';
import { Random, delay, duplexPair, fault, fragment, record, replay, throttle } from '../lib/testing/index.js';
import type { TranscriptEntry } from '../lib/testing/index.js';

// Resolves when the stream has closed, whatever the reason (events.once would reject on 'error').
const closed = (s: NodeJS.EventEmitter & { closed: boolean }): Promise<void> =>
  s.closed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// A client and a server over a memory pair, each with its own filters.
function pair(clientFilters: Filter[], serverFilters: Filter[], hwm?: number): [Connection, Connection] {
  const [a, b] = duplexPair(hwm === undefined ? {} : { highWaterMark: hwm });
  return [wrap(a, clientFilters, { role: 'client' }), wrap(b, serverFilters, { role: 'server' })];
}

async function readAll(conn: Connection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let c = await conn.receive(); c !== null; c = await conn.receive()) chunks.push(c);
  return Buffer.concat(chunks);
}

async function sendAll(conn: Connection, data: Buffer, step = 4096): Promise<void> {
  for (let i = 0; i < data.length; i += step) await conn.send(data.subarray(i, i + step));
  await conn.close();
}

const bytesOf = (entries: TranscriptEntry[], direction: 'in' | 'out'): Buffer =>
  Buffer.concat(entries.filter((e) => e.direction === direction && e.bytes).map((e) => e.bytes!));

// A tiny length-prefixed protocol, standing in for "the user's own protocol".
async function readMessage(conn: Connection): Promise<Buffer> {
  const header = await conn.receiveExactly(2);
  return conn.receiveExactly(header.readUInt16BE(0));
}
const message = (body: string): Buffer => {
  const b = Buffer.from(body);
  const h = Buffer.alloc(2);
  h.writeUInt16BE(b.length);
  return Buffer.concat([h, b]);
};

describe('fragment()', () => {
  it('cuts reads coming up into pieces of the given size, bytes unchanged', async () => {
    const rec = record();
    const [client, server] = pair([], [fragment(3), rec]);
    const data = new Random(1).bytes(1000);
    await Promise.all([sendAll(client, data, 500), readAll(server).then((got) => expect(sha(got)).toBe(sha(data)))]);
    const pieces = rec.transcript.entries.filter((e) => e.direction === 'in' && e.bytes);
    expect(pieces.every((e) => e.bytes!.length <= 3)).toBe(true);
    expect(pieces.length).toBeGreaterThanOrEqual(334);
  });

  it('cuts writes going down, each piece its own write below', async () => {
    const rec = record();
    const [client, server] = pair([rec, fragment([1, 2, 5])], []);
    const data = new Random(2).bytes(800);
    await Promise.all([sendAll(client, data, 800), readAll(server).then((got) => expect(got.equals(data)).toBe(true))]);
    const sizes = rec.transcript.entries.filter((e) => e.direction === 'out' && e.bytes).map((e) => e.bytes!.length);
    expect(sizes.slice(0, 6)).toEqual([1, 2, 5, 1, 2, 5]);
  });

  it('seeded random cuts are the same for the same seed, and protocol parsing survives them', async () => {
    const cutsFor = async (seed: number): Promise<number[]> => {
      const rec = record();
      const [client, server] = pair([], [fragment({ seed, min: 1, max: 7 }), rec]);
      const messages = ['hello', 'a longer message that spans many pieces', 'x'];
      const reading = (async () => {
        for (const m of messages) expect((await readMessage(server)).toString()).toBe(m);
      })();
      for (const m of messages) await client.send(message(m));
      await reading;
      client.destroy();
      return rec.transcript.entries.filter((e) => e.bytes).map((e) => e.bytes!.length);
    };
    const first = await cutsFor(42);
    expect(await cutsFor(42)).toEqual(first);
    expect(first.every((n) => n >= 1 && n <= 7)).toBe(true);
  });

  it('rejects sizes that are not whole numbers ≥ 1', () => {
    expect(() => fragment(0)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(() => fragment({ seed: 1, min: 5, max: 2 })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
  });
});

describe('delay()', () => {
  it('holds bytes back by ms + jitter, in order, and passes the end after them', async () => {
    const rec = record();
    const [client, server] = pair([], [delay({ ms: 30, jitter: 20, seed: 5 }), rec]);
    const data = new Random(3).bytes(50_000);
    await Promise.all([sendAll(client, data, 1000), readAll(server).then((got) => expect(sha(got)).toBe(sha(data)))]);
    const first = rec.transcript.entries[0]!;
    // Timers may fire a millisecond early; the delay is the filter's contract.
    expect(first.at).toBeGreaterThanOrEqual(28);
    expect(rec.transcript.entries.at(-1)!.bytes).toBe(null);
  });

  it('keeps memory bounded: a writer waits once a high-water mark is held', async () => {
    const [client, server] = pair([delay(10_000)], []);
    const layer = client.layer('delay')!;
    let accepted = 0;
    while (client.write(Buffer.alloc(16 * 1024))) accepted += 16 * 1024;
    // Nothing has gone down yet; what the stack holds stays near its marks.
    expect(accepted).toBeLessThanOrEqual(4 * 64 * 1024);
    expect(layer.writableLength + client.writableLength).toBeLessThanOrEqual(4 * 64 * 1024);
    client.destroy();
    await closed(server);
  });

  it('leaves no timer behind when the connection is destroyed with bytes held', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const [client, server] = pair([delay(60_000)], []);
    await client.send('held for a minute');
    client.destroy();
    await closed(server);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});

describe('throttle()', () => {
  it('limits bandwidth and delivers every byte', async () => {
    const [client, server] = pair([throttle(200 * 1024)], []);
    const data = new Random(4).bytes(100 * 1024);
    const start = performance.now();
    await Promise.all([sendAll(client, data, 8192), readAll(server).then((got) => expect(sha(got)).toBe(sha(data)))]);
    // 100 KiB at 200 KiB/s cannot take less than about half a second.
    expect(performance.now() - start).toBeGreaterThanOrEqual(450);
  });

  it('pauses a fast peer instead of queueing without bound', async () => {
    const [client, server] = pair([], [throttle(64 * 1024)], 16 * 1024);
    const raw = client.raw.stream;
    let written = 0;
    while (raw.write(Buffer.alloc(8192))) written += 8192;
    await new Promise((r) => setTimeout(r, 50));
    const layer = server.layer('throttle')!;
    // The memory pair and the throttle each hold about one high-water mark.
    expect(written).toBeLessThanOrEqual(256 * 1024);
    expect(layer.readableLength).toBeLessThanOrEqual(128 * 1024);
    client.destroy();
    await closed(server);
  });
});

describe('fault()', () => {
  it('corruptAt flips the bytes at those offsets and nothing else', async () => {
    const [client, server] = pair([], [fault({ corruptAt: [0, 7, 999] })]);
    const data = new Random(6).bytes(1000);
    const [, got] = await Promise.all([sendAll(client, data, 100), readAll(server)]);
    const expected = Buffer.from(data);
    for (const at of [0, 7, 999]) expected[at] = expected[at]! ^ 0xff;
    expect(got.equals(expected)).toBe(true);
  });

  it('truncateAt ends the stream early: my protocol sees ERR_WIRESTACK_EOF', async () => {
    const [client, server] = pair([], [fault({ truncateAt: 10 })]);
    await client.send(message('a message far longer than ten bytes'));
    const err = await readMessage(server).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_EOF' });
    expect((err as { partial: Buffer }).partial.length).toBe(8);
    client.destroy();
  });

  it('truncateAt going out sends a FIN the writer does not notice', async () => {
    const [client, server] = pair([fault({ truncateAt: 5, direction: 'out' })], []);
    await client.send('0123456789');
    await client.send('more');
    expect((await readAll(server)).toString()).toBe('01234');
    client.destroy();
  });

  it('resetAt fails this end with ERR_WIRESTACK_FAULT and resets the peer', async () => {
    const [client, server] = pair([], [fault({ resetAt: 4 })]);
    const serverErr = server.receiveExactly(100).catch((e: unknown) => e);
    await client.send('0123456789');
    expect(await serverErr).toMatchObject({ code: 'ERR_WIRESTACK_FAULT', layer: 'fault' });
    expect(await client.receive().catch((e: unknown) => e)).toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
  });

  it('resetAt on a TCP socket sends an RST: the peer sees ECONNRESET', async () => {
    let server: Connection | undefined;
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [fault({ resetAt: 2 })], (conn) => {
      server = conn;
    });
    const client = await connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port });
    await client.send('go on');
    const err = await client.receive().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
    expect(((err as Error).cause as { code: string }).code).toBe('ECONNRESET');
    expect(server?.errored).toMatchObject({ code: 'ERR_WIRESTACK_FAULT' });
    await listener.close({ drain: false });
  });

  it('stallAt stops the stream without an end or error; destroy still cleans up', async () => {
    const [client, server] = pair([], [fault({ stallAt: 3 })]);
    await client.send('abcdef');
    expect((await server.receiveExactly(3)).toString()).toBe('abc');
    const next = server.receive();
    const outcome = await Promise.race([next.then(() => 'data'), new Promise((r) => setTimeout(() => r('stalled'), 100))]);
    expect(outcome).toBe('stalled');
    server.destroy();
    expect(await next.catch((e: unknown) => e)).toMatchObject({ code: 'ERR_WIRESTACK_CLOSED' });
    await closed(client);
  });

  it('rejects negative offsets', () => {
    expect(() => fault({ resetAt: -1 })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
  });
});

describe('record() and replay()', () => {
  // The user's protocol under test: a client that sends two requests and reads two answers.
  async function myClient(conn: Connection): Promise<string[]> {
    await conn.send(message('GET a'));
    const a = (await readMessage(conn)).toString();
    await conn.send(message('GET b'));
    const b = (await readMessage(conn)).toString();
    await conn.close();
    return [a, b];
  }
  async function myServer(conn: Connection): Promise<void> {
    for (;;) {
      const req = await readMessage(conn).catch(() => null);
      if (!req) break;
      await conn.send(message(`value of ${req.toString().slice(4)}`));
    }
    await conn.close();
  }

  it('records a session and replays it deterministically against the client', async () => {
    const recorder = record();
    const [client, server] = pair([recorder], []);
    const [answers] = await Promise.all([myClient(client), myServer(server)]);
    expect(answers).toEqual(['value of a', 'value of b']);
    const { entries, role } = recorder.transcript;
    expect(role).toBe('client');
    expect(bytesOf(entries, 'out').equals(Buffer.concat([message('GET a'), message('GET b')]))).toBe(true);

    // No server this time: the replay plays it, turn by turn.
    const raw = replay(recorder.transcript, { strict: true });
    expect(await myClient(wrap(raw, [], { role: 'client' }))).toEqual(['value of a', 'value of b']);
    expect(raw.written.equals(bytesOf(entries, 'out'))).toBe(true);
  });

  it('strict replay fails with ERR_WIRESTACK_FAULT when the protocol says something else', async () => {
    const recorder = record();
    const [client, server] = pair([recorder], []);
    await Promise.all([myClient(client), myServer(server)]);
    const conn = wrap(replay(recorder.transcript, { strict: true }), [], { role: 'client' });
    await conn.send(message('GET z')).catch(() => undefined);
    expect(await conn.receive().catch((e: unknown) => e)).toMatchObject({ code: 'ERR_WIRESTACK_FAULT' });
  });

  it('one recorder keeps a transcript per connection', async () => {
    const recorder = record();
    const [c1] = pair([recorder], []);
    const [c2] = pair([recorder], []);
    expect(recorder.transcripts).toHaveLength(2);
    c1.destroy();
    c2.destroy();
    expect(() => record().transcript).toThrow();
  });
});

describe('testing filters on sockets', () => {
  it('fragment → delay → throttle stacked over TCP deliver exact bytes both ways', async () => {
    const filters = (): Filter[] => [fragment({ seed: 9, min: 1, max: 2000 }), delay({ ms: 1, jitter: 3, seed: 2 }), throttle(4 << 20)];
    const l = await listen({ host: '127.0.0.1', port: 0 }, filters(), async (conn) => {
      for await (const chunk of conn) await conn.send(chunk as Buffer);
      await conn.close();
    });
    const c = await connect({ host: '127.0.0.1', port: (l.address() as { port: number }).port }, filters());
    const data = new Random(10).bytes(512 * 1024);
    const [, got] = await Promise.all([sendAll(c, data, 16 * 1024), readAll(c)]);
    expect(sha(got)).toBe(sha(data));
    await l.close();
    expect(c.raw.stream).toBeInstanceOf(net.Socket);
  });
});

describe('fragment({ sizes, direction })', () => {
  it('cuts only the chosen direction, with the sizes in turn', async () => {
    const [a, b] = duplexPair();
    const cut = wrap(a, [fragment({ sizes: [1, 2], direction: 'in' })]);
    const peer = wrap(b, [], { role: 'server' });
    const upSizes: number[] = [];
    peer.on('data', (c: Buffer) => upSizes.push(c.length));
    const downSizes: number[] = [];
    cut.on('data', (c: Buffer) => downSizes.push(c.length));
    await cut.send('abcdef');          // going down: not cut
    await peer.send('abcdef');         // coming up: cut 1, 2, 1, 2
    await new Promise((resolve) => setImmediate(resolve));
    expect(upSizes).toEqual([6]);
    expect(downSizes).toEqual([1, 2, 1, 2]);
  });
});

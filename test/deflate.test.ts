import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  Layer, deflate, duplexPair, isWirestackError, meter, wrap,
  type Connection, type DeflateOptions, type Filter,
} from '../lib/index.js';
import { filterChecks } from '../lib/testing/index.js';

import { tlsFilter as tlsPair } from './helpers.js';

const MiB = 1024 * 1024;
const algorithms = ['deflate', 'brotli'] as const;

function pair(client: Filter[], server: Filter[], options: Parameters<typeof duplexPair>[0] = {}): [Connection, Connection] {
  const [a, b] = duplexPair(options);
  return [wrap(a, client, { role: 'client' }), wrap(b, server, { role: 'server' })];
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(conn: Connection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let chunk = await conn.receive(); chunk !== null; chunk = await conn.receive()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// Text that compresses the way protocol traffic does: repetitive, not trivial.
function compressibleText(bytes: number): Buffer {
  const words = ['GET', 'POST', '/api/v1/items', 'HTTP/1.1', 'Host:', 'example.org', 'Accept:', 'application/json', '\r\n'];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const word = `${words[(i * 7 + (i >> 3)) % words.length]!}${i % 13 === 0 ? i : ''} `;
    parts.push(word);
    size += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function errorOf(conn: Connection): Promise<Error> {
  return new Promise((resolve) => {
    if (conn.errored) resolve(conn.errored);
    else conn.once('error', resolve);
  });
}

function closed(stream: { destroyed: boolean; once(event: 'close', cb: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => (stream.destroyed ? resolve() : stream.once('close', () => resolve())));
}

/**
 * A stream that inflates to `segments` × `segmentBytes` zeros, made without
 * compressing that much: a flushed segment of zeros leaves the codec in the
 * same state it found it, so the segment can be repeated as often as wanted.
 */
async function bomb(algorithm: 'deflate' | 'brotli', segments: number): Promise<{ bytes: Buffer; inflatesTo: number }> {
  const brotli = algorithm === 'brotli';
  const segmentBytes = brotli ? 16 * MiB : MiB;
  const codec = brotli
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 } })
    : zlib.createDeflateRaw();
  const kind = brotli ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
  let out: Buffer[] = [];
  codec.on('data', (chunk: Buffer) => out.push(chunk));
  const pieces: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    codec.write(Buffer.alloc(segmentBytes));
    await new Promise<void>((resolve) => codec.flush(kind, () => resolve()));
    pieces.push(Buffer.concat(out));
    out = [];
  }
  codec.end();
  await new Promise((resolve) => codec.on('end', resolve));
  const [first, repeat, again] = pieces as [Buffer, Buffer, Buffer];
  expect(repeat.equals(again)).toBe(true);
  const bytes = Buffer.concat([first, ...Array<Buffer>(segments - 1).fill(repeat), Buffer.concat(out)]);
  return { bytes, inflatesTo: segments * segmentBytes };
}

// Bytes of memory the process holds in JS heap and buffers.
function memoryInUse(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

// The conformance suite, each property its own test, for both algorithms.
for (const algorithm of algorithms) {
  describe(`checkFilter: deflate (${algorithm})`, () => {
    const makePair = () => ({ client: deflate({ algorithm }), server: deflate({ algorithm }) });
    for (const check of filterChecks(makePair, { seed: 20261126 })) it(check.name, () => check.run());
    describe('over TCP', () => {
      for (const check of filterChecks(makePair, { seed: 20261126, transport: 'tcp', bigTransferBytes: 4 << 20 })) it(check.name, () => check.run());
    });
  });
}

describe('deflate', () => {
  for (const algorithm of algorithms) {
    describe(algorithm, () => {
      const filter = (options: DeflateOptions = {}): Filter => deflate({ algorithm, ...options });

      // Bytes must survive both ways whatever the fragmentation below.
      it('round-trips compressible and random data, fragmented, with SHA-256', async () => {
        const up = Buffer.concat([compressibleText(3 * MiB), randomBytes(MiB)]);
        const down = Buffer.concat([randomBytes(300_000), compressibleText(500_000)]);
        let seed = 7;
        const split = (chunk: Buffer): Buffer[] => {
          const pieces: Buffer[] = [];
          for (let i = 0; i < chunk.length;) {
            seed = (seed * 1103515245 + 12345) % 2 ** 31;
            const n = 1 + (seed % 3000);
            pieces.push(chunk.subarray(i, i + n));
            i += n;
          }
          return pieces;
        };
        const [client, server] = pair([filter()], [filter()], { split });
        const serverGot = readAll(server);
        const clientGot = readAll(client);
        for (let i = 0; i < up.length; i += 50_000) await client.send(up.subarray(i, i + 50_000));
        await server.send(down);
        await client.close();
        await server.close();
        expect(sha256(await serverGot)).toBe(sha256(up));
        expect(sha256(await clientGot)).toBe(sha256(down));
      });

      // Request/response protocols wait on each message: every write must leave as a complete, flushed block.
      it('flushes every write: small request/response messages never stall', async () => {
        const [client, server] = pair([filter()], [filter()], { maxChunkSize: 5 });
        for (let i = 0; i < 50; i++) {
          const request = `request ${i}\n`;
          await client.send(request);
          expect((await server.receiveExactly(request.length)).toString()).toBe(request);
          const response = `response ${i} ${'x'.repeat(i)}\n`;
          await server.send(response);
          expect((await client.receiveExactly(response.length)).toString()).toBe(response);
        }
        await client.close();
        await server.close();
        expect(await client.receive()).toBe(null);
        expect(await server.receive()).toBe(null);
      });

      // Corked writes reach the layer as one batch; they must leave it as one flushed block.
      it('sends a corked batch of small writes as one block', async () => {
        const [client, server] = pair([filter()], [filter()]);
        const layer = client.layer('deflate') as Layer;
        const messages = Array.from({ length: 100 }, (_, i) => `message ${i};`);
        const before = layer.stats.chunksOut;
        client.cork();
        for (const message of messages) client.write(message);
        client.uncork();
        const expected = messages.join('');
        expect((await server.receiveExactly(expected.length)).toString()).toBe(expected);
        expect(layer.stats.chunksOut - before).toBe(1);
        expect(layer.stats.bytesOut).toBeLessThan(expected.length / 2);
        await client.close();
        await server.close();
      });

      // end() must close the compressed stream with its final block, so the peer can tell an end from a truncation.
      it('sends a final block at end()', async () => {
        const [client, server] = pair([meter({ name: 'wire' }), filter()], [filter()]);
        const wire: Buffer[] = [];
        const raw = client.raw.stream;
        const write = raw.write.bind(raw);
        raw.write = ((chunk: Buffer, ...rest: never[]) => {
          wire.push(Buffer.from(chunk));
          return write(chunk, ...rest);
        }) as typeof raw.write;
        await client.send('first');
        await client.send('second');
        await client.close();
        expect((await readAll(server)).toString()).toBe('firstsecond');
        const inflate = algorithm === 'brotli' ? zlib.brotliDecompressSync : zlib.inflateRawSync;
        // The sync inflaters throw on a stream with no final block.
        expect(inflate(Buffer.concat(wire)).toString()).toBe('firstsecond');
        await server.close();
      });

      // A stream with nothing in it is still a complete compressed stream; and the peer may go on after our end.
      it('ends an empty stream cleanly, and keeps reading after its own end', async () => {
        const [client, server] = pair([filter()], [filter()]);
        await client.close();
        expect(await server.receive()).toBe(null);
        await server.send('still talking');
        expect((await client.receiveExactly(13)).toString()).toBe('still talking');
        await server.close();
        expect(await client.receive()).toBe(null);
      });

      // Garbage must fail loudly, with one coded error, and take the stack down.
      it('fails corrupt input with ERR_WIRESTACK_INFLATE and tears down', async () => {
        const [raw, end] = duplexPair();
        const server = wrap(end, [filter()], { role: 'server' });
        const failed = errorOf(server);
        // The raw peer sees the teardown as a reset, as a TCP peer would.
        raw.on('error', () => {});
        raw.write(Buffer.from('this is not compressed at all, not one byte of it \xff\xfe\xfd', 'latin1'));
        raw.end();
        const err = await failed;
        expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_INFLATE');
        await closed(end);
        expect(end.destroyed).toBe(true);
      });

      // A FIN in the middle of the compressed stream is a truncation, not an end.
      it('fails a compressed stream cut short with ERR_WIRESTACK_INFLATE', async () => {
        const whole = algorithm === 'brotli' ? zlib.brotliCompressSync(compressibleText(10_000)) : zlib.deflateRawSync(compressibleText(10_000));
        const [raw, end] = duplexPair();
        const server = wrap(end, [filter()], { role: 'server' });
        const failed = errorOf(server);
        server.resume();
        raw.on('error', () => {});
        raw.end(whole.subarray(0, whole.length >> 1));
        const err = await failed;
        expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_INFLATE');
      });

      // A bomb must stop at the limit, and memory must stay small while it does.
      it('stops a decompression bomb with ERR_WIRESTACK_INFLATE_LIMIT, memory bounded', async () => {
        const { bytes, inflatesTo } = await bomb(algorithm, algorithm === 'brotli' ? 256 : 1024);
        expect(inflatesTo).toBeGreaterThanOrEqual(GiB);
        if (algorithm === 'brotli') expect(bytes.length).toBeLessThan(8 * 1024);
        const [raw, end] = duplexPair();
        const server = wrap(end, [filter()], { role: 'server' });
        const failed = errorOf(server);
        const baseline = memoryInUse();
        let peak = baseline;
        let received = 0;
        server.on('data', (chunk: Buffer) => {
          received += chunk.length;
          peak = Math.max(peak, memoryInUse());
        });
        raw.on('error', () => {});
        raw.write(bytes);
        const err = await failed;
        expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_INFLATE_LIMIT');
        expect(received).toBeLessThanOrEqual(16 * MiB);
        expect(peak - baseline).toBeLessThan(64 * MiB);
        await closed(end);
      });

      // With the limits lifted, a reader that does not read must still hold the bomb back by backpressure.
      it('keeps memory bounded for an unread bomb with the limits lifted', async () => {
        const { bytes } = await bomb(algorithm, algorithm === 'brotli' ? 256 : 1024);
        const [raw, end] = duplexPair();
        const server = wrap(end, [filter({ maxInflatedBytes: Infinity, maxRatio: Infinity })], { role: 'server' });
        const baseline = memoryInUse();
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, memoryInUse())), 5);
        raw.on('error', () => {});
        let written = false;
        raw.write(bytes, () => (written = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        clearInterval(sampler);
        const inflater = server.layer('deflate') as Layer;
        // Nothing read: what the stack holds is its buffers, not the gigabytes behind them.
        expect(server.readableLength + inflater.readableLength).toBeLessThanOrEqual(256 * 1024);
        expect(peak - baseline).toBeLessThan(64 * MiB);
        // Reading resumes the flow: 32 MiB of zeros come out.
        const zeros = await server.receiveExactly(32 * MiB);
        expect(zeros.every((byte) => byte === 0)).toBe(true);
        expect(written || raw.writableLength > 0).toBe(true);
        server.destroy();
        await closed(raw);
      });

      it('enforces maxInflatedBytes on one chunk and maxRatio over the stream', async () => {
        const text = compressibleText(4 * MiB);
        const payload = algorithm === 'brotli'
          ? zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
          : zlib.deflateRawSync(text);
        for (const options of [{ maxInflatedBytes: MiB }, { maxRatio: 2 }]) {
          const [raw, end] = duplexPair({ highWaterMark: 4 * MiB });
          const server = wrap(end, [filter(options)], { role: 'server' });
          const failed = errorOf(server);
          server.resume();
          raw.on('error', () => {});
          raw.write(payload);
          const err = await failed;
          expect(isWirestackError(err) && err.code).toBe('ERR_WIRESTACK_INFLATE_LIMIT');
        }
      });

      // A slow peer must make writes wait, not pile up compressed output.
      it('applies backpressure to the writer when the peer does not read', async () => {
        const [client, server] = pair([filter()], [filter()], { lockstep: true });
        const data = randomBytes(2 * MiB);
        let accepted = 0;
        for (let i = 0; i < data.length && client.write(data.subarray(i, i + 16_384)); i += 16_384) accepted += 16_384;
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(accepted).toBeLessThan(data.length);
        const layer = client.layer('deflate') as Layer;
        expect(layer.stats.bytesOut).toBeLessThan(MiB);
        client.destroy();
        await closed(server);
      });
    });
  }

  it('rejects bad options with ERR_WIRESTACK_INVALID_ARGUMENT', () => {
    const bad = [{ level: 10 }, { algorithm: 'brotli', level: 12 }, { level: 1.5 }, { maxRatio: 0 }, { maxInflatedBytes: -1 }, { algorithm: 'lz4' }];
    for (const options of bad as DeflateOptions[]) {
      expect(() => deflate(options)).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    }
  });

  // The case that needs the per-write flush most: compression above TLS, small request/response messages.
  it('exchanges small request/response messages over TLS → deflate', async () => {
    const [client, server] = pair([tlsPair('client'), deflate()], [tlsPair('server'), deflate()], { maxChunkSize: 100 });
    for (let i = 0; i < 100; i++) {
      const request = `PING ${i}\n`;
      await client.send(request);
      expect((await server.receiveExactly(request.length)).toString()).toBe(request);
      await server.send(`PONG ${i}\n`);
      expect((await client.receiveExactly(request.length)).toString()).toBe(`PONG ${i}\n`);
    }
    await client.close();
    expect(await server.receive()).toBe(null);
    await server.close();
    expect(await client.receive()).toBe(null);
  });
});

const GiB = 1024 * MiB;

/**
 * deflate layer pair vs plain zlib streams, on compressible text, in one run.
 * Prints throughput and the ratio to the baselines. Run: npx tsx bench/deflate.ts
 */
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Readable, Writable } from 'node:stream';
import { deflate, duplexPair, wrap } from '../lib/index.js';

const TOTAL = 64 * 1024 * 1024;
const WRITE = 64 * 1024;

function text(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    const line = `${new Date(1_700_000_000_000 + i * 997).toISOString()} INFO request id=${i * 7919 % 100_003} path=/api/v1/items/${i % 503} status=${i % 17 === 0 ? 404 : 200} ms=${i % 89}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

const data = text(WRITE * 16);
function* chunks(): Generator<Buffer> {
  for (let sent = 0; sent < TOTAL; sent += WRITE) yield data.subarray(sent % data.length, (sent % data.length) + WRITE);
}

async function layerPair(algorithm: 'deflate' | 'brotli'): Promise<number> {
  const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
  const client = wrap(a, [deflate({ algorithm })], { role: 'client' });
  const server = wrap(b, [deflate({ algorithm })], { role: 'server' });
  const start = performance.now();
  let got = 0;
  const reading = (async () => {
    for await (const chunk of server) got += (chunk as Buffer).length;
  })();
  for (const chunk of chunks()) if (!client.write(chunk)) await new Promise((resolve) => client.once('drain', resolve));
  client.end();
  await reading;
  if (got !== TOTAL) throw new Error(`got ${got}`);
  const ms = performance.now() - start;
  client.destroy();
  return ms;
}

async function zlibPair(algorithm: 'deflate' | 'brotli', flushEachWrite: boolean): Promise<number> {
  const compress = algorithm === 'brotli'
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : zlib.createDeflateRaw();
  const inflate = algorithm === 'brotli' ? zlib.createBrotliDecompress() : zlib.createInflateRaw();
  const kind = algorithm === 'brotli' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
  let got = 0;
  const start = performance.now();
  const source = Readable.from((async function* () {
    for (const chunk of chunks()) {
      yield chunk;
    }
  })());
  const flusher = flushEachWrite
    ? new (await import('node:stream')).Transform({
      transform(chunk: Buffer, _encoding, callback) {
        compress.write(chunk);
        compress.flush(kind, () => callback());
      },
      final(callback) {
        compress.end();
        callback();
      },
    })
    : null;
  const sink = new Writable({ write(chunk: Buffer, _encoding, callback) { got += chunk.length; callback(); } });
  if (flusher) {
    await Promise.all([pipeline(source, flusher), pipeline(compress, inflate, sink)]);
  } else {
    await pipeline(source, compress, inflate, sink);
  }
  if (got !== TOTAL) throw new Error(`got ${got}`);
  return performance.now() - start;
}

const mbps = (ms: number): string => `${(TOTAL / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
for (const algorithm of ['deflate', 'brotli'] as const) {
  // Warm up once, then take the best of three of each.
  await layerPair(algorithm);
  const best = async (f: () => Promise<number>): Promise<number> => Math.min(await f(), await f(), await f());
  const layer = await best(() => layerPair(algorithm));
  const plain = await best(() => zlibPair(algorithm, false));
  const flushed = await best(() => zlibPair(algorithm, true));
  console.log(`${algorithm}: layer pair ${mbps(layer)}; zlib pair ${mbps(plain)} (layer/zlib ${(plain / layer).toFixed(2)}×); ` +
    `zlib pair flushed per 64 KiB write ${mbps(flushed)} (layer/flushed ${(flushed / layer).toFixed(2)}×)`);
}

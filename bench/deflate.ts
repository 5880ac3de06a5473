// Row 11 of the issue: a deflate layer pair against a plain zlib
// deflate/inflate stream pair, on compressible text, both over the same
// in-memory pair so that only the layering differs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { type Filter, duplexPair, wirestack, wrap } from './wirestack.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, cpuNote, formatBytes, interleaved, rate, throughputRow, unavailable } from './harness.js';
import { bulk, destroyAll } from './transfer.js';

const ROW = 'deflate layer pair, compressible text (vs plain zlib stream pair)';
const WRITE_SIZE = 64 * 1024;
const TARGET = 0.9;

/**
 * 1 MiB of real text: Node's API declarations from `@types/node` (a dev
 * dependency, so the same bytes wherever the lockfile is), which zlib
 * compresses to about a fifth.
 */
export function compressibleText(bytes = 1 << 20): Buffer {
  const dir = fileURLToPath(new URL('../node_modules/@types/node/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.d.ts')).sort();
  const text = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
  if (text.length < bytes) throw new Error(`only ${text.length} bytes of text in ${dir}`);
  return text.subarray(0, bytes);
}

/** wirestack's `deflate` filter factory, or null when this checkout has none. */
export function deflateFilter(): ((options?: Record<string, unknown>) => Filter) | null {
  const d = (wirestack as Record<string, unknown>)['deflate'];
  return typeof d === 'function' ? (d as (options?: Record<string, unknown>) => Filter) : null;
}

export const deflateGroup: Group = {
  name: 'deflate',
  rows: ['deflate'],
  async run(opts: BenchOptions): Promise<Row[]> {
    const deflate = deflateFilter();
    if (!deflate) return [unavailable('deflate', ROW, `≥ ${TARGET.toFixed(2)}`, 'the deflate filter is not on this branch yet (wirestack exports no `deflate`)', 'deflate')];
    const text = compressibleText();
    // zlib at level 6 moves tens of MB/s, not hundreds: a quarter of --size per sample keeps the
    // row within the run's time and still moves more than --size over the five samples.
    const bytes = Math.max(64 * 1024, Math.round(opts.size / 4));
    const cpu: Partial<Record<'zlib' | 'zlibFlushed' | 'wirestack', number>> = {};
    const m = await interleaved({
      zlib: async () => {
        const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
        const compress = zlib.createDeflateRaw();
        const inflate = zlib.createInflateRaw();
        compress.pipe(a);
        b.pipe(inflate);
        // A compressor that is never flushed keeps the last bytes until end(), so the plain pair ends.
        const timing = await bulk(compress, inflate, bytes, WRITE_SIZE, text, true);
        await destroyAll(compress, inflate, a, b);
        return timing;
      },
      // The same pair flushed after every write, as the layer does: the work is then the same.
      zlibFlushed: async () => {
        const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
        const compress = zlib.createDeflateRaw();
        const inflate = zlib.createInflateRaw();
        const flushing = new Writable({
          highWaterMark: 64 * 1024,
          write(chunk: Buffer, _encoding, callback) {
            compress.write(chunk);
            compress.flush(zlib.constants.Z_SYNC_FLUSH, () => callback());
          },
        });
        compress.pipe(a);
        b.pipe(inflate);
        const timing = await bulk(flushing, inflate, bytes, WRITE_SIZE, text);
        await destroyAll(flushing, compress, inflate, a, b);
        return timing;
      },
      wirestack: async () => {
        const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
        const client = wrap(a, deflate(), { role: 'client' });
        const server = wrap(b, deflate(), { role: 'server' });
        const timing = await bulk(client, server, bytes, WRITE_SIZE, text);
        await destroyAll(client, server);
        return timing;
      },
    }, opts.samples, true, cpu);
    const ratio = zlib.deflateRawSync(text).length / text.length;
    return [throughputRow('deflate', ROW, bytes, m.zlib, m.wirestack, TARGET,
      `${formatBytes(bytes)} of text (@types/node declarations) per sample (compresses to ${(ratio * 100).toFixed(0)}%) in ${formatBytes(WRITE_SIZE)} writes, level 6 both, over duplexPair; ` +
      'the layer flushes (Z_SYNC_FLUSH) after every write as the filter promises; the plain pair is never flushed, only ended after the last write' +
      cpuNote(cpu.zlib, cpu.wirestack) +
      `; against a zlib pair flushed after every write like the layer (${rate(bytes, m.zlibFlushed)}): ratio ${(m.zlibFlushed / m.wirestack).toFixed(2)}` +
      cpuNote(cpu.zlibFlushed, cpu.wirestack))];
  },
};

// Row 11 of the issue: a deflate layer pair against a plain zlib
// deflate/inflate stream pair, on compressible text, both over the same
// in-memory pair so that only the layering differs.
import zlib from 'node:zlib';
import * as wirestack from '../lib/index.js';
import { type Filter, duplexPair, wrap } from '../lib/index.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, formatBytes, interleaved, throughputRow, unavailable } from './harness.js';
import { bulk, destroyAll } from './transfer.js';

const ROW = 'deflate layer pair, compressible text (vs plain zlib stream pair)';
const WRITE_SIZE = 64 * 1024;
const TARGET = 0.9;

/** 1 MiB of English-like text from a fixed vocabulary and a seeded generator: compresses about 3:1. */
export function compressibleText(bytes = 1 << 20): Buffer {
  const words = ('the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
    'you were her all she there would their we him been has when who will more no if out so said what up its about into than ' +
    'them can only other new some could time these two may then do first any my now such like our over man me even most made ' +
    'stream layer socket record filter buffer connection handshake session certificate compress inflate').split(' ');
  let seed = 0x9e3779b9;
  const next = (): number => {
    // xorshift32: the same text on every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = words[Math.floor(next() * words.length)]!;
    const sep = next() < 0.08 ? '.\n' : ' ';
    parts.push(word, sep);
    length += word.length + sep.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function deflateFilter(): ((options?: Record<string, unknown>) => Filter) | null {
  const d = (wirestack as Record<string, unknown>)['deflate'];
  return typeof d === 'function' ? (d as (options?: Record<string, unknown>) => Filter) : null;
}

export const deflateGroup: Group = {
  name: 'deflate',
  rows: ['deflate'],
  async run(opts: BenchOptions): Promise<Row[]> {
    const deflate = deflateFilter();
    if (!deflate) return [unavailable('deflate', ROW, `≥ ${TARGET.toFixed(2)}`, 'the deflate filter is not on this branch yet (wirestack exports no `deflate`)')];
    const text = compressibleText();
    const bytes = opts.size;
    const m = await interleaved({
      zlib: async () => {
        const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
        const compress = zlib.createDeflateRaw();
        const inflate = zlib.createInflateRaw();
        compress.pipe(a);
        b.pipe(inflate);
        const seconds = await bulk(compress, inflate, bytes, WRITE_SIZE, text);
        await destroyAll(compress, inflate, a, b);
        return seconds;
      },
      wirestack: async () => {
        const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
        const client = wrap(a, deflate(), { role: 'client' });
        const server = wrap(b, deflate(), { role: 'server' });
        const seconds = await bulk(client, server, bytes, WRITE_SIZE, text);
        await destroyAll(client, server);
        return seconds;
      },
    }, opts.samples);
    const ratio = zlib.deflateRawSync(text).length / text.length;
    return [throughputRow('deflate', ROW, bytes, m.zlib, m.wirestack, TARGET,
      `${formatBytes(bytes)} of text per sample (compresses to ${(ratio * 100).toFixed(0)}%) in ${formatBytes(WRITE_SIZE)} writes, level 6 both, over duplexPair; ` +
      'the layer flushes (Z_SYNC_FLUSH) after every write as the filter promises, the plain pair does not')];
  },
};

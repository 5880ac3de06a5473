// A deflate layer pair against a plain zlib deflate/inflate stream pair, on
// compressible text, both over the same in-memory pair so that only the
// layering differs; each variant in a measuring process of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duplex, type Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { type Filter, duplexPair, wirestack, wrap } from './wirestack.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, cpuRatio, formatBytes, interleaved, median, paired, quiesce, rate, speedup, spreadOf, throughputRow, timed, TODAY, unavailable } from './harness.js';
import { type Variant, isolate, isolateAll } from './isolated.js';
import { bulk, destroyAll } from './transfer.js';

const ROW = 'deflate layer pair, compressible text (vs plain zlib stream pair)';
const WRITE_SIZE = 64 * 1024;
/** "No worse than today": the ratio main measured before issue 14. */
const TARGET = 0.92;
const NO_DEFLATE = 'the deflate filter is not on this branch yet (wirestack exports no `deflate`)';

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

/** What the deflate variants are told: bytes of text per sample. */
interface DeflateArgs {
  readonly bytes: number;
  readonly [key: string]: unknown;
}

/** A writer, the reader at the far end, and everything to destroy afterwards. */
interface Pipe {
  readonly writer: Writable;
  readonly reader: Readable;
  readonly all: ReadonlyArray<Duplex | Writable>;
  /** End the writer after the last write (a compressor that is never flushed keeps its last bytes until then). */
  readonly end: boolean;
}

// A variant whose samples move `bytes` of text through a fresh pipe from `make`.
function pipeVariant(make: () => Pipe, args: DeflateArgs): Promise<Variant> {
  const text = compressibleText();
  return Promise.resolve({
    async sample() {
      const pipe = make();
      try {
        await quiesce();
        return timed(await bulk(pipe.writer, pipe.reader, args.bytes, WRITE_SIZE, text, pipe.end));
      } finally {
        await destroyAll(...pipe.all);
      }
    },
    close: async () => {},
  });
}

// A plain zlib pair over duplexPair; `flushEach` flushes after every write, as the layer does.
function zlibPipe(flushEach: boolean): Pipe {
  const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
  const compress = zlib.createDeflateRaw();
  const inflate = zlib.createInflateRaw();
  compress.pipe(a);
  b.pipe(inflate);
  if (!flushEach) return { writer: compress, reader: inflate, all: [compress, inflate, a, b], end: true };
  const flushing = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      compress.write(chunk);
      compress.flush(zlib.constants.Z_SYNC_FLUSH, () => callback());
    },
  });
  return { writer: flushing, reader: inflate, all: [flushing, compress, inflate, a, b], end: false };
}

function wirestackPipe(): Pipe {
  const deflate = deflateFilter();
  if (!deflate) throw new Error(NO_DEFLATE);
  const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
  const client = wrap(a, deflate(), { role: 'client' });
  const server = wrap(b, deflate(), { role: 'server' });
  return { writer: client, reader: server, all: [client, server], end: false };
}

/** The variants, each built in a measuring process of its own. */
export const variants = {
  zlib: (args: DeflateArgs) => pipeVariant(() => zlibPipe(false), args),
  zlibFlushed: (args: DeflateArgs) => pipeVariant(() => zlibPipe(true), args),
  wirestack: (args: DeflateArgs) => pipeVariant(wirestackPipe, args),
};

export const deflateGroup: Group = {
  name: 'deflate',
  rows: ['deflate'],
  async run(opts: BenchOptions): Promise<Row[]> {
    if (!deflateFilter()) return [unavailable('deflate', ROW, `≥ ${TARGET.toFixed(2)}`, NO_DEFLATE, 'deflate')];
    // zlib at level 6 moves tens of MB/s, not hundreds: a quarter of --size per sample keeps the
    // row within the run's time and still moves more than --size over the five samples.
    const bytes = Math.max(64 * 1024, Math.round(opts.size / 4));
    const here = import.meta.url;
    const isolated = await isolateAll({
      zlib: () => isolate(here, variants, 'zlib', { bytes }, opts),
      zlibFlushed: () => isolate(here, variants, 'zlibFlushed', { bytes }, opts),
      wirestack: () => isolate(here, variants, 'wirestack', { bytes }, opts),
    });
    try {
      const m = await interleaved(isolated.samples, opts.samples);
      const text = compressibleText();
      const ratio = zlib.deflateRawSync(text).length / text.length;
      const flushed = paired(m.zlibFlushed, m.wirestack, speedup);
      return [throughputRow('deflate', ROW, bytes, m.zlib, m.wirestack, TARGET,
        `${formatBytes(bytes)} of text (@types/node declarations) per sample (compresses to ${(ratio * 100).toFixed(0)}%) in ${formatBytes(WRITE_SIZE)} writes, level 6 both, over duplexPair; ` +
        'the layer flushes (Z_SYNC_FLUSH) after every write as the filter promises; the plain pair is never flushed, only ended after the last write; ' +
        `target: no worse than main before issue 14 (${TARGET.toFixed(2)}, ${TODAY}); ` +
        `against a zlib pair flushed after every write like the layer (${rate(bytes, median(m.zlibFlushed.values))}): ratio ${median(flushed).toFixed(2)}, ` +
        `spread ${spreadOf(flushed)}, ${cpuRatio(m.zlibFlushed, m.wirestack)}; main before issue 14: 0.97 against it`)];
    } finally {
      await isolated.close();
    }
  },
};

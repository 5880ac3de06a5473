// Memory per idle TLS connection, wirestack against native `tls`: the V8 heap
// and the resident set, two rows from the same samples. Each sample is a
// fresh child process (so one variant's garbage cannot land on the other's
// reading), alternating native and wirestack.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Group } from './group.js';
import { type BenchOptions, type Reading, type Row, type Series, cost, formatBytes, interleaved, median, pairedRow, unavailable } from './harness.js';
import type { HeapReport } from './heap-child.js';
import { MEASURING_EXEC_ARGV, measuringEnv } from './isolated.js';
import { NO_TLS, tlsFilters } from './wirestack-tls.js';

const ROW_HEAP = 'heap per idle TLS connection (vs native)';
const ROW_RSS = 'RSS per idle TLS connection (vs native)';
const HEAP_TARGET = 1.3;
const RSS_TARGET = 1.05;
const CHILD = fileURLToPath(new URL('./heap-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type HeapVariant = 'native' | 'wirestack' | 'wirestack-native-path';

/** Runs the heap child once and returns its report. */
function child(variant: HeapVariant, connections: number, opts: BenchOptions): Promise<HeapReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', ...MEASURING_EXEC_ARGV, CHILD, variant, String(connections)],
      { cwd: ROOT, env: measuringEnv(opts), maxBuffer: 1 << 20, timeout: 300_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`heap child (${variant}) failed: ${stderr || err.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as HeapReport);
      });
  });
}

// A sample: the heap per connection, with the RSS per connection beside it.
function sample(variant: HeapVariant, connections: number, opts: BenchOptions): () => Promise<Reading> {
  return async () => {
    const r = await child(variant, connections, opts);
    return { value: r.heapPerConnection, facts: { rss: r.rssPerConnection } };
  };
}

const rssOf = (series: Series): Series => ({ ...series, values: series.facts.map((f) => Number(f['rss'])) });

export const memoryGroup: Group = {
  name: 'memory',
  rows: ['heap', 'rss'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    if (!tlsFilters()) {
      return [
        ...(selected.has('heap') ? [unavailable('memory', ROW_HEAP, `≤ ${HEAP_TARGET.toFixed(2)}×`, NO_TLS, 'tls')] : []),
        ...(selected.has('rss') ? [unavailable('memory', ROW_RSS, `≤ ${RSS_TARGET.toFixed(2)}×`, NO_TLS, 'tls')] : []),
      ];
    }
    const n = opts.connections;
    // Each sample is two child processes of thousands of handshakes, and the
    // heap readings vary little: three samples keep the rows under a minute.
    const samples = Math.min(opts.samples, 3);
    const m = await interleaved({ native: sample('native', n, opts), wirestack: sample('wirestack', n, opts) }, samples, false);
    const common = `${n} connections, client and server end both counted, read after gc in a fresh child process per sample, median of ${samples}; ` +
      `ratio is wirestack ÷ native (less is better); wirestack with default options${opts.publicApiOnly ? ', public API only (WIRESTACK_NODE_INTERNALS=0)' : ''}`;
    const row = (name: string, native: Series, wirestack: Series, target: number, what: string): Row => pairedRow({
      group: 'memory',
      row: name,
      baseline: `${formatBytes(median(native.values))}/conn`,
      wirestack: `${formatBytes(median(wirestack.values))}/conn`,
      ratios: native.values.map((b, i) => cost(b, wirestack.values[i]!)),
      target: `≤ ${target.toFixed(2)}×`,
      meets: (r) => r <= target,
      note: `${common}; ${what}`,
    });
    const rows: Row[] = [];
    if (selected.has('heap')) {
      // The native fast path (allowTruncation on both ends) once, for the note: the row itself is for default options.
      const fast = await child('wirestack-native-path', n, opts);
      rows.push(row(ROW_HEAP, m.native, m.wirestack, HEAP_TARGET,
        `V8 heapUsed; with allowTruncation (native fast path, one sample): ${formatBytes(fast.heapPerConnection)}/conn, ratio ${(fast.heapPerConnection / median(m.native.values)).toFixed(2)}`));
    }
    if (selected.has('rss')) {
      rows.push(row(ROW_RSS, rssOf(m.native), rssOf(m.wirestack), RSS_TARGET,
        "resident set growth: OpenSSL's objects live outside the V8 heap, and Buffers' memory is counted here, not in the heap"));
    }
    return rows;
  },
};

// Row 10 of the issue: heap per idle TLS connection, wirestack against native
// `tls`. Each sample is a fresh child process (so one variant's garbage
// cannot land on the other's reading), alternating native and wirestack.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Group } from './group.js';
import { type BenchOptions, type Row, formatBytes, interleaved, unavailable } from './harness.js';
import type { HeapReport } from './heap-child.js';
import { NO_TLS, tlsFilters } from './wirestack-tls.js';

const ROW = 'heap per idle TLS connection (vs native)';
const CHILD = fileURLToPath(new URL('./heap-child.ts', import.meta.url));

/** Runs the heap child once and returns its report. */
function child(variant: 'native' | 'wirestack' | 'wirestack-native-path', connections: number): Promise<HeapReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, variant, String(connections)],
      { maxBuffer: 1 << 20, timeout: 300_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`heap child (${variant}) failed: ${stderr || err.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as HeapReport);
      });
  });
}

export const memoryGroup: Group = {
  name: 'memory',
  rows: ['heap'],
  async run(opts: BenchOptions): Promise<Row[]> {
    if (!tlsFilters()) return [unavailable('memory', ROW, '≤ 1.20×', NO_TLS, 'tls')];
    const n = opts.connections;
    // Each sample is two child processes of thousands of handshakes, and the
    // readings vary little: three samples keep the row under a minute.
    const samples = Math.min(opts.samples, 3);
    const reports: Record<'native' | 'wirestack', HeapReport[]> = { native: [], wirestack: [] };
    const m = await interleaved({
      native: async () => {
        const r = await child('native', n);
        reports.native.push(r);
        return r.heapPerConnection;
      },
      wirestack: async () => {
        const r = await child('wirestack', n);
        reports.wirestack.push(r);
        return r.heapPerConnection;
      },
    }, samples, false);
    // The native fast path (allowTruncation on both ends) once, for the note: the row itself is for default options.
    const fast = await child('wirestack-native-path', n);
    const rssOf = (rs: HeapReport[]): string => formatBytes(rs.map((r) => r.rssPerConnection).sort((a, b) => a - b)[rs.length >> 1]!);
    const ratio = m.wirestack / m.native;
    return [{
      group: 'memory',
      row: ROW,
      baseline: `${formatBytes(m.native)}/conn`,
      wirestack: `${formatBytes(m.wirestack)}/conn`,
      ratio,
      target: '≤ 1.20×',
      met: ratio <= 1.2,
      note: `${n} connections, client and server end both counted, V8 heapUsed after gc in a fresh child process per sample, median of ${samples}; ` +
        `ratio is wirestack ÷ native (less is better); wirestack with default options (TLS on the native path, as on a bare socket); ` +
        `with allowTruncation (native fast path, one sample): ${formatBytes(fast.heapPerConnection)}/conn, ratio ${(fast.heapPerConnection / m.native).toFixed(2)}; ` +
        `RSS per connection (median): native ${rssOf(reports.native)}, wirestack ${rssOf(reports.wirestack)}`,
    }];
  },
};

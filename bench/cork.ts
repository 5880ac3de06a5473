// Row 9 of the issue: 1,000 writes of 100 B in one cork() batch over
// wirestack TLS, against the same writes without cork: records and bytes on
// the wire (counted below the server's TLS layer) and time.
import { connect, type Connection } from './wirestack.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, formatBytes, interleaved, median, secondsSince, unavailable } from './harness.js';
import { recordCounter, type RecordCounts } from './record-counter.js';
import { destroyAll, wirestackAcceptor } from './transfer.js';
import { tlsPair } from './tls-bulk.js';
import { NO_TLS, tlsFilters, whenSecured } from './wirestack-tls.js';

const ROW = '1,000 writes of 100 B in one cork() batch over TLS (vs no cork)';
const WRITES = 1000;
const message = Buffer.alloc(100, 'x');

// Resolves when `conn` has read `bytes` more bytes.
function received(conn: Connection, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      if (got >= bytes) {
        conn.off('data', onData);
        resolve();
      }
    };
    conn.on('data', onData);
  });
}

export const corkGroup: Group = {
  name: 'cork',
  rows: ['cork'],
  async run(opts: BenchOptions): Promise<Row[]> {
    const t = tlsFilters();
    if (!t) return [unavailable('cork', ROW, 'fewer records, less time', NO_TLS, 'tls')];
    // Batches per sample: enough for a measurable time, scaled with --size like the other rows.
    const batches = Math.max(5, Math.min(200, Math.round(opts.size / (1 << 20))));
    const counts: RecordCounts = { records: 0, bytes: 0 };
    const pair = tlsPair(t);
    const acceptor = await wirestackAcceptor([recordCounter(counts), pair.server]);
    const [client, server] = await Promise.all([connect({ host: '127.0.0.1', port: acceptor.port }, pair.client), acceptor.next()]) as [Connection, Connection];
    try {
      await Promise.all([whenSecured(client), whenSecured(server)]);
      const wire: Record<'plain' | 'corked', Array<{ records: number; bytes: number }>> = { plain: [], corked: [] };
      const sample = (corked: boolean) => async (): Promise<number> => {
        const start = performance.now();
        const before = { ...counts };
        for (let b = 0; b < batches; b++) {
          const arrived = received(server, WRITES * message.length);
          if (corked) client.cork();
          for (let i = 0; i < WRITES; i++) client.write(message);
          if (corked) client.uncork();
          await arrived;
        }
        const seconds = secondsSince(start);
        wire[corked ? 'corked' : 'plain'].push({ records: (counts.records - before.records) / batches, bytes: (counts.bytes - before.bytes) / batches });
        return seconds / batches;
      };
      const m = await interleaved({ plain: sample(false), corked: sample(true) }, opts.samples);
      const records = (k: 'plain' | 'corked'): number => median(wire[k].map((w) => w.records));
      const bytes = (k: 'plain' | 'corked'): number => median(wire[k].map((w) => w.bytes));
      const ratio = m.plain / m.corked;
      const describe = (k: 'plain' | 'corked', s: number): string => `${records(k).toFixed(0)} rec, ${formatBytes(bytes(k))}, ${(s * 1000).toFixed(2)} ms`;
      return [{
        group: 'cork',
        row: ROW,
        baseline: describe('plain', m.plain),
        wirestack: describe('corked', m.corked),
        ratio,
        target: 'fewer records, less time',
        met: records('corked') < records('plain') && m.corked < m.plain,
        note: `per batch of ${WRITES} × 100 B (median over ${opts.samples} samples of ${batches} batches); records and bytes counted below the server's TLS layer; ratio is time without cork ÷ time with cork`,
      }];
    } finally {
      await destroyAll(client, server);
      await acceptor.close();
    }
  },
};

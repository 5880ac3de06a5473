// Row 9 of the issue: 1,000 writes of 100 B in one cork() batch over
// wirestack TLS, against the same writes without cork: records and bytes on
// the wire (counted below the server's TLS layer) and time.
import { connect, type Connection } from './wirestack.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, formatBytes, interleaved, median, secondsSince, unavailable } from './harness.js';
import { recordCounter, type RecordCounts } from './record-counter.js';
import { destroyAll, wirestackAcceptor } from './transfer.js';
import { tlsPair } from './tls-bulk.js';
import { NO_TLS, type TlsFilters, tlsFilters, tlsPath, whenSecured } from './wirestack-tls.js';

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

/** Cork and no-cork figures for one client configuration, per batch. */
interface CorkFigures {
  readonly plain: { records: number; bytes: number; seconds: number };
  readonly corked: { records: number; bytes: number; seconds: number };
  /** Which TLS path the client took. */
  readonly path: string;
}

// Measures batches of 1,000 writes with and without cork, interleaved, on one
// connection whose server counts the records the client puts on the wire.
async function measure(t: TlsFilters, clientOptions: Record<string, unknown>, samples: number, batches: number): Promise<CorkFigures> {
  const counts: RecordCounts = { records: 0, bytes: 0 };
  const pair = tlsPair(t, clientOptions);
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
    const m = await interleaved({ plain: sample(false), corked: sample(true) }, samples);
    const figures = (k: 'plain' | 'corked') => ({
      records: median(wire[k].map((w) => w.records)),
      bytes: median(wire[k].map((w) => w.bytes)),
      seconds: m[k],
    });
    return { plain: figures('plain'), corked: figures('corked'), path: tlsPath(client) };
  } finally {
    await destroyAll(client, server);
    await acceptor.close();
  }
}

function describe(f: { records: number; bytes: number; seconds: number }): string {
  return `${f.records.toFixed(0)} rec, ${formatBytes(f.bytes)}, ${(f.seconds * 1000).toFixed(2)} ms`;
}

export const corkGroup: Group = {
  name: 'cork',
  rows: ['cork'],
  async run(opts: BenchOptions): Promise<Row[]> {
    const t = tlsFilters();
    if (!t) return [unavailable('cork', ROW, 'fewer records, less time', NO_TLS, 'tls')];
    // Batches per sample: enough for a measurable time, scaled with --size like the other rows.
    const batches = Math.max(5, Math.min(200, Math.round(opts.size / (1 << 20))));
    const standard = await measure(t, {}, opts.samples, batches);
    // The same with the client on the native fast path, where writes are not coalesced by a stream below TLS.
    const fast = await measure(t, { allowTruncation: true }, opts.samples, batches);
    const { plain, corked } = standard;
    return [{
      group: 'cork',
      row: ROW,
      baseline: describe(plain),
      wirestack: describe(corked),
      ratio: plain.seconds / corked.seconds,
      target: 'fewer records, less time',
      met: corked.records < plain.records && corked.seconds < plain.seconds,
      note: `per batch of ${WRITES} × 100 B (median over ${opts.samples} samples of ${batches} batches), default options (client TLS path: ${standard.path}); ` +
        "records and bytes counted below the server's TLS layer; baseline: the same writes without cork; ratio is time without cork ÷ time with cork; " +
        `with allowTruncation (client TLS path: ${fast.path}): without cork ${describe(fast.plain)}, with cork ${describe(fast.corked)}, ratio ${(fast.plain.seconds / fast.corked.seconds).toFixed(2)}`,
    }];
  },
};

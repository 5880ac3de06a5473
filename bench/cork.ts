// 1,000 writes of 100 B in one cork() batch over wirestack TLS, against the
// same writes without cork: records and bytes on the wire (counted below the
// server's TLS layer) and time, in one measuring process (both ways of
// writing share one connection, so they are measured side by side there).
import { connect, type Connection } from './wirestack.js';
import type { Group } from './group.js';
import { type BenchOptions, type Reading, type Row, type Series, formatBytes, interleaved, median, pairedRow, quiesce, startTiming, unavailable } from './harness.js';
import { isolatedJob } from './isolated.js';
import { recordCounter, type RecordCounts } from './record-counter.js';
import { destroyAll, wirestackAcceptor } from './transfer.js';
import { tlsPair } from './tls-bulk.js';
import { NO_TLS, tlsFilters, tlsPath, whenSecured } from './wirestack-tls.js';

const ROW = '1,000 writes of 100 B in one cork() batch over TLS (vs no cork)';
const TARGET = 'fewer records, less time';
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

/** One way of writing (without or with cork): median figures per batch, and each sample's seconds per batch. */
interface WayFigures {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly samples: number[];
}

/** Cork and no-cork figures for one client configuration, per batch. */
interface CorkFigures {
  readonly plain: WayFigures;
  readonly corked: WayFigures;
  /** Which TLS path the client took. */
  readonly path: string;
}

/** What the cork job is told. */
interface CorkArgs {
  readonly clientOptions: Record<string, unknown>;
  readonly samples: number;
  readonly batches: number;
}

// Measures batches of 1,000 writes with and without cork, interleaved, on one
// connection whose server counts the records the client puts on the wire.
async function measure(args: CorkArgs): Promise<CorkFigures> {
  const t = tlsFilters();
  if (!t) throw new Error(NO_TLS);
  const { batches } = args;
  const counts: RecordCounts = { records: 0, bytes: 0 };
  const pair = tlsPair(t, args.clientOptions);
  const acceptor = await wirestackAcceptor([recordCounter(counts), pair.server]);
  const [client, server] = await Promise.all([connect({ host: '127.0.0.1', port: acceptor.port }, pair.client), acceptor.next()]) as [Connection, Connection];
  try {
    await Promise.all([whenSecured(client), whenSecured(server)]);
    const sample = (corked: boolean) => async (): Promise<Reading> => {
      await quiesce();
      const before = { ...counts };
      const timing = startTiming();
      for (let b = 0; b < batches; b++) {
        const arrived = received(server, WRITES * message.length);
        if (corked) client.cork();
        for (let i = 0; i < WRITES; i++) client.write(message);
        if (corked) client.uncork();
        await arrived;
      }
      const { seconds, cpu } = timing();
      return { value: seconds / batches, cpu, facts: { records: (counts.records - before.records) / batches, bytes: (counts.bytes - before.bytes) / batches } };
    };
    const m = await interleaved({ plain: sample(false), corked: sample(true) }, args.samples);
    const figures = (series: Series): WayFigures => ({
      records: median(series.facts.map((f) => Number(f['records']))),
      bytes: median(series.facts.map((f) => Number(f['bytes']))),
      seconds: median(series.values),
      samples: series.values,
    });
    return { plain: figures(m.plain), corked: figures(m.corked), path: tlsPath(client) };
  } finally {
    await destroyAll(client, server);
    await acceptor.close();
  }
}

/** The job a measuring process runs: both configurations, one after the other. */
export const jobs = {
  cork: async (args: Omit<CorkArgs, 'clientOptions'>): Promise<{ standard: CorkFigures; fast: CorkFigures }> => ({
    standard: await measure({ ...args, clientOptions: {} }),
    // The same with the client on the native fast path, where writes are not coalesced by a stream below TLS.
    fast: await measure({ ...args, clientOptions: { allowTruncation: true } }),
  }),
};

function describe(f: WayFigures): string {
  return `${f.records.toFixed(0)} rec, ${formatBytes(f.bytes)}, ${(f.seconds * 1000).toFixed(2)} ms`;
}

export const corkGroup: Group = {
  name: 'cork',
  rows: ['cork'],
  async run(opts: BenchOptions): Promise<Row[]> {
    if (!tlsFilters()) return [unavailable('cork', ROW, TARGET, NO_TLS, 'tls')];
    // Batches per sample: enough for a measurable time, scaled with --size like the other rows.
    const batches = Math.max(5, Math.min(200, Math.round(opts.size / (1 << 20))));
    const { standard, fast } = await isolatedJob(import.meta.url, jobs, 'cork', { samples: opts.samples, batches }, opts);
    const { plain, corked } = standard;
    const internals = opts.publicApiOnly ? '; public API only (WIRESTACK_NODE_INTERNALS=0)' : '';
    return [pairedRow({
      group: 'cork',
      row: ROW,
      baseline: describe(plain),
      wirestack: describe(corked),
      ratios: plain.samples.map((p, i) => p / corked.samples[i]!),
      target: TARGET,
      meets: (ratio) => corked.records < plain.records && ratio > 1,
      note: `per batch of ${WRITES} × 100 B (median over ${opts.samples} samples of ${batches} batches), default options (client TLS path: ${standard.path})${internals}; ` +
        "records and bytes counted below the server's TLS layer; baseline: the same writes without cork; ratio is time without cork ÷ time with cork; " +
        `with allowTruncation (client TLS path: ${fast.path}): without cork ${describe(fast.plain)}, with cork ${describe(fast.corked)}, ratio ${(fast.plain.seconds / fast.corked.seconds).toFixed(2)}`,
    })];
  },
};

// The harness ceiling and plaintext bulk through identity layers: the bare
// socket moved by the harness against a loop written by hand without it;
// wirestack against the bare socket; and the same five layers built with
// `stream.compose` and with `duplexify`. One interleaved set in one
// measuring process, so the ceiling row vouches for the very bare-socket
// samples the identity rows divide by, and no ratio carries the luck of
// two processes (see isolated.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as nodeStream from 'node:stream';
import { type Duplex, PassThrough } from 'node:stream';
import duplexify from 'duplexify';
import { type Filter, connect, identity } from './wirestack.js';
import { type BenchOptions, type Reading, type Row, formatBytes, interleaved, median, paired, rate, speedup, throughputRow } from './harness.js';
import type { Group } from './group.js';
import { type Isolated, type Together, isolateTogether } from './isolated.js';
import { handLoop } from './hand-loop.js';
import { type BulkArgs, type EndsFactory, bulkVariant, netAcceptor, netConnect, wirestackAcceptor } from './transfer.js';

// stream.compose exists in Node 20 (experimental) but @types/node 20 does not declare it.
const compose = (nodeStream as unknown as { compose: (...streams: Duplex[]) => Duplex }).compose;

const WRITE_SIZE = 64 * 1024;
// The same high-water mark as a wirestack connection, so the chains differ in mechanism, not in buffer sizes.
const HWM = 64 * 1024;
const MINIMAL_LOOP = fileURLToPath(new URL('./minimal-loop.mjs', import.meta.url));
const CEILING_TARGET = 0.95;

const ROW_CEILING = 'harness ceiling: bare sockets moved by the harness (vs a loop written by hand, same process)';
const ROW_1 = '1 identity layer, plaintext bulk (vs bare socket)';
const ROW_5 = '5 identity layers (vs bare socket)';
const ROW_COMPOSE = '5 identity layers (vs stream.compose chain)';
const ROW_DUPLEXIFY = '5 identity layers (vs duplexify chain)';

function identities(n: number): Filter[] {
  return Array.from({ length: n }, (_, i) => identity(`identity${i + 1}`));
}

// One identity layer made the stream.compose way: writes pass a PassThrough
// into the stream below, reads come out of it through another.
function composeLayer(lower: Duplex): Duplex {
  return compose(new PassThrough({ highWaterMark: HWM }), lower, new PassThrough({ highWaterMark: HWM }));
}

// One identity layer made the duplexify way: two PassThroughs piped to and from the stream below.
function duplexifyLayer(lower: Duplex): Duplex {
  const down = new PassThrough({ highWaterMark: HWM });
  const up = new PassThrough({ highWaterMark: HWM });
  down.pipe(lower);
  lower.pipe(up);
  return duplexify(down, up, { highWaterMark: HWM }) as unknown as Duplex;
}

function fold(raw: Duplex, n: number, layer: (lower: Duplex) => Duplex): Duplex {
  let top = raw;
  for (let i = 0; i < n; i++) top = layer(top);
  return top;
}

/** Bare TCP sockets on both ends, the writer's high-water mark 64 KiB like a wirestack connection's. */
async function bareEnds(): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const bare = await netAcceptor();
  return {
    async make() {
      const [client, server] = await Promise.all([netConnect(bare.port, HWM), bare.next()]);
      return { client, server, all: [client, server] };
    },
    close: () => bare.close(),
  };
}

/** wirestack's `connect` and `listen` with `layers` identity layers on each end. */
async function identityEnds(layers: number): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const acceptor = await wirestackAcceptor(identities(layers));
  return {
    async make() {
      const [client, server] = await Promise.all([connect({ host: '127.0.0.1', port: acceptor.port }, identities(layers)), acceptor.next()]);
      return { client, server, all: [client, server] };
    },
    close: () => acceptor.close(),
  };
}

/** A chain of `layers` hand-made layers folded over bare sockets on both ends. */
async function chainEnds(layers: number, layer: (lower: Duplex) => Duplex): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const bare = await netAcceptor();
  return {
    async make() {
      const [rawClient, rawServer] = await Promise.all([netConnect(bare.port), bare.next()]);
      const client = fold(rawClient, layers, layer);
      const server = fold(rawServer, layers, layer);
      return { client, server, all: [client, server, rawClient, rawServer] };
    },
    close: () => bare.close(),
  };
}

/** The variants; the rows sample those they compare in one measuring process (see isolated.ts). */
export const variants = {
  hand: (args: BulkArgs) => handLoop(args.bytes),
  bare: (args: BulkArgs) => bulkVariant(bareEnds(), args),
  wirestack: (args: BulkArgs & { layers: number }) => bulkVariant(identityEnds(args.layers), args),
  compose: (args: BulkArgs) => bulkVariant(chainEnds(5, composeLayer), args),
  duplexify: (args: BulkArgs) => bulkVariant(chainEnds(5, duplexifyLayer), args),
};

/**
 * The minimal loop in a plain node process of its own, like a measuring
 * process: each sample asks it for one transfer of `bytes` and reads back
 * the seconds it timed itself.
 */
function minimalLoop(bytes: number): Isolated {
  const child = spawn(process.execPath, [MINIMAL_LOOP], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // A process that cannot start ends its stdout too, which the next sample reports with this.
  child.on('error', (err) => {
    stderr += err.message;
  });
  return {
    async sample(): Promise<Reading> {
      child.stdin!.write(`${bytes}\n`);
      const line = await lines.next();
      if (line.done) throw new Error(`the minimal loop exited: ${stderr.trim()}`);
      const { seconds, cpu } = JSON.parse(line.value) as { seconds: number; cpu: number };
      return { value: seconds, cpu };
    },
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin!.end();
    }),
  };
}

export const identityGroup: Group = {
  name: 'identity',
  rows: ['ceiling', 'identity-1', 'identity-5'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const bytes = opts.size;
    const args = { bytes, writeSize: WRITE_SIZE };
    const together: Record<string, Together<typeof variants>> = { bare: { name: 'bare', args } };
    if (selected.has('ceiling')) together['hand'] = { name: 'hand', args };
    if (selected.has('identity-1')) together['identity1'] = { name: 'wirestack', args: { ...args, layers: 1 } };
    if (selected.has('identity-5')) {
      together['identity5'] = { name: 'wirestack', args: { ...args, layers: 5 } };
      together['compose'] = { name: 'compose', args };
      together['duplexify'] = { name: 'duplexify', args };
    }
    const shared = await isolateTogether(import.meta.url, variants, together, opts);
    // The same loop in a plain node process: what the ceiling's note reports of the measuring process itself.
    const plain = selected.has('ceiling') ? minimalLoop(bytes) : null;
    const isolated = {
      samples: { ...shared.samples, ...(plain ? { minimal: plain.sample } : {}) } as Record<string, () => Promise<Reading>>,
      close: async () => {
        await Promise.all([shared.close(), plain?.close()]);
      },
    };
    try {
      const m = await interleaved(isolated.samples, opts.samples);
      const note = (what: string): string =>
        `${formatBytes(bytes)} per sample in ${formatBytes(WRITE_SIZE)} writes, TCP loopback, client to server, both ends in one process; ${what}`;
      const bareNote = 'baseline: net.Socket to net.Socket, writer high-water mark 64 KiB like a wirestack connection';
      const rows: Row[] = [];
      if (m['hand']) {
        const plainNote = m['minimal'] ? `; the same loop in a plain node process of its own (bench/minimal-loop.mjs): ${rate(bytes, median(m['minimal'].values))}, ` +
          `${median(paired(m['minimal'], m['hand'], speedup)).toFixed(2)}× of it in the measuring process (that process's luck, not the harness: see docs/benchmarks.md)` : '';
        const row = throughputRow('identity', ROW_CEILING, bytes, m['hand'], m['bare']!, CEILING_TARGET,
          note('harness: the bare-socket samples every identity row divides by (bench/transfer.ts bulk()); ' +
            'baseline: bench/hand-loop.ts, the dozen lines a user would write, default high-water mark, in the same measuring process' + plainNote));
        const below = row.ratio !== null && row.ratio < CEILING_TARGET;
        rows.push(below ? { ...row, note: `UNDER ${CEILING_TARGET.toFixed(2)}: the harness is the bottleneck in this run, and every other throughput ratio of the run is suspect (pulled towards 1); ${row.note}` } : row);
      }
      if (m['identity1']) rows.push(throughputRow('identity', ROW_1, bytes, m['bare']!, m['identity1'], 0.95, note(bareNote)));
      if (m['identity5']) {
        rows.push(throughputRow('identity', ROW_5, bytes, m['bare']!, m['identity5'], 0.90, note(bareNote)));
        rows.push(throughputRow('identity', ROW_COMPOSE, bytes, m['compose']!, m['identity5'], 1.0,
          note('baseline: each layer compose(PassThrough, lower, PassThrough), 64 KiB high-water marks; target: above it')));
        rows.push(throughputRow('identity', ROW_DUPLEXIFY, bytes, m['duplexify']!, m['identity5'], 1.0,
          note('baseline: each layer duplexify(PassThrough piped down, PassThrough piped up), 64 KiB high-water marks; target: above it')));
      }
      return rows;
    } finally {
      await isolated.close();
    }
  },
};

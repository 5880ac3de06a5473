// Rows 6 and 7 of the issue: plaintext bulk through identity layers, against
// the bare socket and against the same chain of layers built with
// `stream.compose` and with `duplexify`.
import * as nodeStream from 'node:stream';
import { type Duplex, PassThrough } from 'node:stream';
import duplexify from 'duplexify';
import { type Connection, type Filter, connect, identity } from './wirestack.js';
import { type BenchOptions, type Row, type Timing, cpuNote, formatBytes, interleaved, throughputRow } from './harness.js';
import type { Group } from './group.js';
import { bulk, destroyAll, netAcceptor, netConnect, wirestackAcceptor } from './transfer.js';

// stream.compose exists in Node 20 (experimental) but @types/node 20 does not declare it.
const compose = (nodeStream as unknown as { compose: (...streams: Duplex[]) => Duplex }).compose;

const WRITE_SIZE = 64 * 1024;
// The same high-water mark as a wirestack layer, so the chains differ in mechanism, not in buffer sizes.
const HWM = 64 * 1024;

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

export const identityGroup: Group = {
  name: 'identity',
  rows: ['identity-1', 'identity-5'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const rows: Row[] = [];
    const bytes = opts.size;
    const note = (what: string): string => `${formatBytes(bytes)} per sample in ${formatBytes(WRITE_SIZE)} writes, TCP loopback, client to server, the same layers on both ends; ${what}`;
    const bare = await netAcceptor();
    try {
      const bareSample = async (): Promise<Timing> => {
        const [client, server] = await Promise.all([netConnect(bare.port, HWM), bare.next()]);
        const timing = await bulk(client, server, bytes, WRITE_SIZE);
        await destroyAll(client, server);
        return timing;
      };
      // The same chain built by folding `layer` over raw sockets on both ends.
      const chainSample = (n: number, layer: (lower: Duplex) => Duplex) => async (): Promise<Timing> => {
        const [client, server] = await Promise.all([netConnect(bare.port), bare.next()]);
        const top = [fold(client, n, layer), fold(server, n, layer)] as const;
        top[0].on('error', () => {});
        top[1].on('error', () => {});
        const timing = await bulk(top[0], top[1], bytes, WRITE_SIZE);
        await destroyAll(top[0], top[1], client, server);
        return timing;
      };

      if (selected.has('identity-1')) {
        const server = await wirestackAcceptor(identities(1));
        try {
          const cpu: Partial<Record<'bare' | 'wirestack', number>> = {};
          const m = await interleaved({
            bare: bareSample,
            wirestack: wirestackSample(server, 1, bytes),
          }, opts.samples, true, cpu);
          rows.push(throughputRow('identity', '1 identity layer, plaintext bulk (vs bare socket)', bytes, m.bare, m.wirestack, 0.95,
            note('baseline: net.Socket to net.Socket, writer high-water mark 64 KiB like a wirestack connection') + cpuNote(cpu.bare, cpu.wirestack)));
        } finally {
          await server.close();
        }
      }

      if (selected.has('identity-5')) {
        const server = await wirestackAcceptor(identities(5));
        try {
          const cpu: Partial<Record<'bare' | 'wirestack' | 'compose' | 'duplexify', number>> = {};
          const m = await interleaved({
            bare: bareSample,
            wirestack: wirestackSample(server, 5, bytes),
            compose: chainSample(5, composeLayer),
            duplexify: chainSample(5, duplexifyLayer),
          }, opts.samples, true, cpu);
          rows.push(throughputRow('identity', '5 identity layers (vs bare socket)', bytes, m.bare, m.wirestack, 0.85,
            note('baseline: net.Socket to net.Socket, writer high-water mark 64 KiB like a wirestack connection') + cpuNote(cpu.bare, cpu.wirestack)));
          rows.push(throughputRow('identity', '5 identity layers (vs stream.compose chain)', bytes, m.compose, m.wirestack, 1.0,
            note('baseline: each layer compose(PassThrough, lower, PassThrough), 64 KiB high-water marks; target: above it') + cpuNote(cpu.compose, cpu.wirestack)));
          rows.push(throughputRow('identity', '5 identity layers (vs duplexify chain)', bytes, m.duplexify, m.wirestack, 1.0,
            note('baseline: each layer duplexify(PassThrough piped down, PassThrough piped up), 64 KiB high-water marks; target: above it') + cpuNote(cpu.duplexify, cpu.wirestack)));
        } finally {
          await server.close();
        }
      }
    } finally {
      await bare.close();
    }
    return rows;
  },
};

function wirestackSample(server: { port: number; next(): Promise<Connection> }, layers: number, bytes: number) {
  return async (): Promise<Timing> => {
    const [client, accepted] = await Promise.all([connect({ host: '127.0.0.1', port: server.port }, identities(layers)), server.next()]);
    const timing = await bulk(client, accepted, bytes, WRITE_SIZE);
    await destroyAll(client, accepted);
    return timing;
  };
}

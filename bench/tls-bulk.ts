// Rows 1–5 of the issue: TLS bulk transfer through wirestack's TLS filter
// against Node's own TLS, on the socket handle and over a plain JS Duplex.
import net from 'node:net';
import tls from 'node:tls';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { connect, identity, type Connection, type Filter } from './wirestack.js';
import { benchCertificates } from './certs.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, type Sample, cpuNote, formatBytes, interleaved, throughputRow, unavailable } from './harness.js';
import { type Acceptor, bulk, destroyAll, netAcceptor, netConnect, wirestackAcceptor } from './transfer.js';
import { NO_TLS, type TlsFilters, tlsFilters, tlsPath } from './wirestack-tls.js';

type Callback = (err?: Error | null) => void;

/**
 * The baseline's "plain JS Duplex wrapping the socket": what a user would
 * write by hand, with the cheapest write policy (call back at once while the
 * socket has room), so the row compares wirestack with a good hand-written
 * wrapper, not a slow one.
 */
export class PlainSocketDuplex extends Duplex {
  readonly #socket: net.Socket;
  #pending: Callback | null = null;

  constructor(socket: net.Socket) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    socket.on('drain', () => {
      const done = this.#pending;
      this.#pending = null;
      done?.();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    if (this.#socket.write(chunk)) callback();
    else this.#pending = callback;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _final(callback: Callback): void {
    this.#socket.end(callback);
  }

  override _destroy(err: Error | null, callback: Callback): void {
    this.#socket.destroy();
    callback(err);
  }
}

/** A connected pair of ends: what the client writes, the server reads. */
export interface Ends {
  readonly client: Writable & Readable;
  readonly server: Writable & Readable;
  /** Everything to destroy when the sample is over. */
  readonly all: ReadonlyArray<Duplex>;
}

/** Makes a connected, handshaken pair for one sample. */
export type EndsFactory = () => Promise<Ends>;

// One byte each way: both ends have finished their handshake before the clock starts.
async function pingPong(ends: Ends): Promise<void> {
  const one = (from: Writable, to: Readable): Promise<void> => new Promise((resolve, reject) => {
    to.once('data', () => {
      to.off('error', reject);
      resolve();
    });
    to.once('error', reject);
    from.write(Buffer.from([1]));
  });
  await one(ends.client, ends.server);
  await one(ends.server, ends.client);
}

/** A bulk-transfer sample over fresh ends: setup and handshake untimed, transfer timed. */
export function bulkSample(make: EndsFactory, bytes: number, writeSize: number): Sample {
  return async () => {
    const ends = await make();
    try {
      await pingPong(ends);
      return await bulk(ends.client, ends.server, bytes, writeSize);
    } finally {
      await destroyAll(...ends.all);
    }
  };
}

/** Native TLS servers and clients (`tls.createServer` / `tls.connect`) on the socket handle. */
export async function nativeTlsEnds(): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const { key, cert, ca } = benchCertificates();
  const accepted: tls.TLSSocket[] = [];
  const waiting: Array<(s: tls.TLSSocket) => void> = [];
  const server = tls.createServer({ key, cert, allowHalfOpen: true }, (socket) => {
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else accepted.push(socket);
  });
  server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const nextAccepted = (): Promise<tls.TLSSocket> => {
    const s = accepted.shift();
    return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
  };
  return {
    async make() {
      const client = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', noDelay: true, allowHalfOpen: true } as tls.ConnectionOptions);
      const [, serverEnd] = await Promise.all([new Promise((resolve, reject) => {
        client.once('secureConnect', resolve);
        client.once('error', reject);
      }), nextAccepted()]);
      return { client, server: serverEnd, all: [client, serverEnd] };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Native TLS on both ends over a {@link PlainSocketDuplex} wrapping each TCP socket. */
export async function nativeTlsOverJsEnds(): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const { key, cert, ca } = benchCertificates();
  const secureContext = tls.createSecureContext({ key, cert });
  const bare: Acceptor<net.Socket> = await netAcceptor();
  return {
    async make() {
      const [rawClient, rawServer] = await Promise.all([netConnect(bare.port), bare.next()]);
      const client = tls.connect({ socket: new PlainSocketDuplex(rawClient), ca, servername: 'localhost' });
      const server = new tls.TLSSocket(new PlainSocketDuplex(rawServer), { isServer: true, secureContext });
      await Promise.all([
        new Promise((resolve, reject) => {
          client.once('secureConnect', resolve);
          client.once('error', reject);
        }),
        new Promise((resolve, reject) => {
          server.once('secure', resolve);
          server.once('error', reject);
          // A server TLSSocket over a JS stream reports transport failures only here.
          server.once('_tlsError', reject);
        }),
      ]);
      return { client, server, all: [client, server, rawClient, rawServer] };
    },
    close: () => bare.close(),
  };
}

/**
 * wirestack on both ends: `connect` and `listen` with the given stacks (TLS
 * on top). `paths` collects which TLS path (native or stream) each end took.
 */
export async function wirestackEnds(clientStack: Filter[], serverStack: Filter[]): Promise<{ make: EndsFactory; close(): Promise<void>; paths: Set<string> }> {
  const acceptor = await wirestackAcceptor(serverStack);
  const paths = new Set<string>();
  return {
    paths,
    async make() {
      const [client, server] = await Promise.all([
        connect({ host: '127.0.0.1', port: acceptor.port }, clientStack),
        acceptor.next(),
      ]) as [Connection, Connection];
      paths.add(`client ${tlsPath(client)}`);
      paths.add(`server ${tlsPath(server)}`);
      return { client, server, all: [client, server] };
    },
    close: () => acceptor.close(),
  };
}

// "; wirestack TLS path: client native, server native" for a row's note.
function pathNote(paths: Set<string> | undefined): string {
  return paths && paths.size > 0 ? `; wirestack TLS path: ${[...paths].sort().join(', ')}` : '';
}

/** The client and server TLS filters every TLS row uses, with extra client options. */
export function tlsPair(t: TlsFilters, clientOptions: Record<string, unknown> = {}, serverOptions: Record<string, unknown> = {}): { client: Filter; server: Filter } {
  const { key, cert, ca } = benchCertificates();
  return {
    client: t.client({ ca, servername: 'localhost', ...clientOptions }),
    server: t.server({ key, cert, ...serverOptions }),
  };
}

const ROW_64K_DEFAULT = 'TLS bulk, 64 KiB writes, TLS on TCP, default options (vs native)';
const ROW_64K_TRUNC = 'TLS bulk, 64 KiB writes, allowTruncation: true (vs native)';
const ROW_1K = 'TLS bulk, 1 KiB writes (vs native)';
const ROW_OBSERVED_JS = 'TLS over one observing layer (vs native TLS over a plain JS Duplex)';
const ROW_OBSERVED_NATIVE = 'TLS over one observing layer (vs native TLS on the socket handle)';

export const tlsBulkGroup: Group = {
  name: 'tls-bulk',
  rows: ['tls-64k', 'tls-64k-trunc', 'tls-observed', 'tls-1k'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const t = tlsFilters();
    const rows: Row[] = [];
    const bytes = opts.size;
    if (!t) {
      if (selected.has('tls-64k')) rows.push(unavailable('tls-bulk', ROW_64K_DEFAULT, '≥ 0.90', NO_TLS, 'tls'));
      if (selected.has('tls-64k-trunc')) rows.push(unavailable('tls-bulk', ROW_64K_TRUNC, '≥ 0.97', NO_TLS, 'tls'));
      if (selected.has('tls-1k')) rows.push(unavailable('tls-bulk', ROW_1K, '≥ 0.95', NO_TLS, 'tls'));
      if (selected.has('tls-observed')) {
        rows.push(unavailable('tls-bulk', ROW_OBSERVED_JS, '≥ 1.00', NO_TLS, 'tls'));
        rows.push(unavailable('tls-bulk', ROW_OBSERVED_NATIVE, '≥ 0.90', NO_TLS, 'tls'));
      }
      return rows;
    }
    const note = (writeSize: number, what: string): string =>
      `${formatBytes(bytes)} per sample in ${formatBytes(writeSize)} writes, TLS 1.3 on TCP loopback, client to server; ${what}`;
    const native = await nativeTlsEnds();
    const opened: Array<{ close(): Promise<void> }> = [native];
    try {
      const variants: Record<string, Sample> = { native: bulkSample(native.make, bytes, 64 * 1024) };
      const paths: Record<string, Set<string>> = {};
      const plain = tlsPair(t);
      if (selected.has('tls-64k')) {
        const ends = await wirestackEnds([plain.client], [plain.server]);
        opened.push(ends);
        paths['wirestack'] = ends.paths;
        variants['wirestack'] = bulkSample(ends.make, bytes, 64 * 1024);
      }
      if (selected.has('tls-64k-trunc')) {
        const p = tlsPair(t, { allowTruncation: true }, { allowTruncation: true });
        const ends = await wirestackEnds([p.client], [p.server]);
        opened.push(ends);
        paths['truncation'] = ends.paths;
        variants['truncation'] = bulkSample(ends.make, bytes, 64 * 1024);
      }
      if (selected.has('tls-observed')) {
        const overJs = await nativeTlsOverJsEnds();
        opened.push(overJs);
        variants['nativeOverJs'] = bulkSample(overJs.make, bytes, 64 * 1024);
        const ends = await wirestackEnds([identity('observer'), plain.client], [identity('observer'), plain.server]);
        opened.push(ends);
        paths['observed'] = ends.paths;
        variants['observed'] = bulkSample(ends.make, bytes, 64 * 1024);
      }
      const cpu: Partial<Record<string, number>> = {};
      if (Object.keys(variants).length > 1) {
        const m = await interleaved(variants, opts.samples, true, cpu);
        if (m['wirestack'] !== undefined) rows.push(throughputRow('tls-bulk', ROW_64K_DEFAULT, bytes, m['native']!, m['wirestack'], 0.90, note(64 * 1024, 'baseline: tls.connect / tls.createServer') + cpuNote(cpu['native'], cpu['wirestack']) + pathNote(paths['wirestack'])));
        if (m['truncation'] !== undefined) rows.push(throughputRow('tls-bulk', ROW_64K_TRUNC, bytes, m['native']!, m['truncation'], 0.97, note(64 * 1024, 'baseline: tls.connect / tls.createServer') + cpuNote(cpu['native'], cpu['truncation']) + pathNote(paths['truncation'])));
        if (m['observed'] !== undefined) {
          rows.push(throughputRow('tls-bulk', ROW_OBSERVED_JS, bytes, m['nativeOverJs']!, m['observed'], 1.0,
            note(64 * 1024, 'wirestack: [identity, tls] on both ends; baseline: tls.connect({ socket }) / new TLSSocket over a hand-written Duplex around each socket') + cpuNote(cpu['nativeOverJs'], cpu['observed']) + pathNote(paths['observed'])));
          rows.push(throughputRow('tls-bulk', ROW_OBSERVED_NATIVE, bytes, m['native']!, m['observed'], 0.90,
            note(64 * 1024, 'wirestack: [identity, tls] on both ends; baseline: tls.connect / tls.createServer') + cpuNote(cpu['native'], cpu['observed']) + pathNote(paths['observed'])));
        }
      }
      if (selected.has('tls-1k')) {
        const ends = await wirestackEnds([plain.client], [plain.server]);
        opened.push(ends);
        const cpu1k: Partial<Record<'native' | 'wirestack', number>> = {};
        const m = await interleaved({ native: bulkSample(native.make, bytes, 1024), wirestack: bulkSample(ends.make, bytes, 1024) }, opts.samples, true, cpu1k);
        rows.push(throughputRow('tls-bulk', ROW_1K, bytes, m.native, m.wirestack, 0.95,
          note(1024, 'default options; baseline: tls.connect / tls.createServer') + cpuNote(cpu1k.native, cpu1k.wirestack) + pathNote(ends.paths)));
      }
    } finally {
      for (const o of opened) await o.close();
    }
    // In the order, whatever order they were measured in.
    const order = [ROW_64K_DEFAULT, ROW_64K_TRUNC, ROW_1K, ROW_OBSERVED_JS, ROW_OBSERVED_NATIVE];
    return rows.sort((a, b) => order.indexOf(a.row) - order.indexOf(b.row));
  },
};

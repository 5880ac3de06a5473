// TLS bulk transfer through wirestack's TLS filter against Node's own TLS,
// on the socket handle and over a plain JS Duplex; the 64 KiB variants share
// one measuring process, the 1 KiB ones another.
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { connect, identity, type Connection, type Filter } from './wirestack.js';
import { benchCertificates } from './certs.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, type Series, formatBytes, interleaved, throughputRow, unavailable } from './harness.js';
import { type Together, isolateTogether } from './isolated.js';
import { type Acceptor, type BulkArgs, type EndsFactory, bulkVariant, netAcceptor, netConnect, wirestackAcceptor } from './transfer.js';
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
 * on top); each sample reports which TLS path (native or stream) each end took.
 */
export async function wirestackEnds(clientStack: Filter[], serverStack: Filter[]): Promise<{ make: EndsFactory; close(): Promise<void> }> {
  const acceptor = await wirestackAcceptor(serverStack);
  return {
    async make() {
      const [client, server] = await Promise.all([
        connect({ host: '127.0.0.1', port: acceptor.port }, clientStack),
        acceptor.next(),
      ]) as [Connection, Connection];
      return { client, server, all: [client, server], facts: { path: `client ${tlsPath(client)}, server ${tlsPath(server)}` } };
    },
    close: () => acceptor.close(),
  };
}

/** "; wirestack TLS path: client native, server native" for a row's note, from the paths its samples reported. */
export function pathNote(series: Series): string {
  const paths = new Set(series.facts.map((f) => f['path']).filter((p) => p !== undefined));
  return paths.size > 0 ? `; wirestack TLS path: ${[...paths].sort().join(' / ')}` : '';
}

/** The client and server TLS filters every TLS row uses, with extra options for each. */
export function tlsPair(t: TlsFilters, clientOptions: Record<string, unknown> = {}, serverOptions: Record<string, unknown> = {}): { client: Filter; server: Filter } {
  const { key, cert, ca } = benchCertificates();
  return {
    client: t.client({ ca, servername: 'localhost', ...clientOptions }),
    server: t.server({ key, cert, ...serverOptions }),
  };
}

/** wirestack TLS on both ends: these options for each end's filter, and an identity layer below TLS if `observer`. */
interface WirestackTlsArgs extends BulkArgs {
  readonly options?: Record<string, unknown>;
  readonly observer?: boolean;
}

function wirestackTlsEnds(args: WirestackTlsArgs): ReturnType<typeof wirestackEnds> {
  const t = tlsFilters();
  if (!t) throw new Error(NO_TLS);
  const pair = tlsPair(t, args.options, args.options);
  const below = (): Filter[] => (args.observer ? [identity('observer')] : []);
  return wirestackEnds([...below(), pair.client], [...below(), pair.server]);
}

/** The variants; the rows sample those they compare in one measuring process (see isolated.ts). */
export const variants = {
  native: (args: BulkArgs) => bulkVariant(nativeTlsEnds(), args),
  nativeOverJs: (args: BulkArgs) => bulkVariant(nativeTlsOverJsEnds(), args),
  wirestack: (args: WirestackTlsArgs) => bulkVariant(wirestackTlsEnds(args), args),
};

const ROW_64K_DEFAULT = 'TLS bulk, 64 KiB writes, TLS on TCP, default options (vs native)';
const ROW_64K_TRUNC = 'TLS bulk, 64 KiB writes, allowTruncation: true (vs native)';
const ROW_1K = 'TLS bulk, 1 KiB writes (vs native)';
const ROW_OBSERVED_JS = 'TLS over one observing layer (vs native TLS over a plain JS Duplex)';
const ROW_OBSERVED_NATIVE = 'TLS over one observing layer (vs native TLS on the socket handle)';
const TARGET_64K = 0.95;
const TARGET_64K_TRUNC = 0.97;
const TARGET_1K = 0.95;
const TARGET_OBSERVED_JS = 1.0;
const TARGET_OBSERVED_NATIVE = 0.9;

export const tlsBulkGroup: Group = {
  name: 'tls-bulk',
  rows: ['tls-64k', 'tls-64k-trunc', 'tls-observed', 'tls-1k'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    if (!tlsFilters()) {
      const missing: Array<[string, string, number]> = [
        ['tls-64k', ROW_64K_DEFAULT, TARGET_64K], ['tls-64k-trunc', ROW_64K_TRUNC, TARGET_64K_TRUNC], ['tls-1k', ROW_1K, TARGET_1K],
        ['tls-observed', ROW_OBSERVED_JS, TARGET_OBSERVED_JS], ['tls-observed', ROW_OBSERVED_NATIVE, TARGET_OBSERVED_NATIVE],
      ];
      return missing.filter(([id]) => selected.has(id)).map(([, row, target]) => unavailable('tls-bulk', row, `≥ ${target.toFixed(2)}`, NO_TLS, 'tls'));
    }
    const bytes = opts.size;
    const here = import.meta.url;
    const internals = opts.publicApiOnly ? '; public API only (WIRESTACK_NODE_INTERNALS=0)' : '';
    const note = (writeSize: number, what: string): string =>
      `${formatBytes(bytes)} per sample in ${formatBytes(writeSize)} writes, TLS 1.3 on TCP loopback, client to server${internals}; ${what}`;
    const rows: Row[] = [];
    const big = { bytes, writeSize: 64 * 1024 };
    const small = { bytes, writeSize: 1024 };
    // The 64 KiB variants are sampled as one interleaved set in one measuring
    // process, the 1 KiB ones as another in a second (see isolated.ts).
    const bigSet: Record<string, Together<typeof variants>> = {};
    const smallSet: Record<string, Together<typeof variants>> = {};
    if (selected.has('tls-64k') || selected.has('tls-64k-trunc') || selected.has('tls-observed')) bigSet['native'] = { name: 'native', args: big };
    if (selected.has('tls-64k')) bigSet['wirestack'] = { name: 'wirestack', args: big };
    if (selected.has('tls-64k-trunc')) bigSet['truncation'] = { name: 'wirestack', args: { ...big, options: { allowTruncation: true } } };
    if (selected.has('tls-observed')) {
      bigSet['nativeOverJs'] = { name: 'nativeOverJs', args: big };
      bigSet['observed'] = { name: 'wirestack', args: { ...big, observer: true } };
    }
    if (selected.has('tls-1k')) {
      smallSet['native1k'] = { name: 'native', args: small };
      smallSet['wirestack1k'] = { name: 'wirestack', args: small };
    }
    const start = (set: Record<string, Together<typeof variants>>) => (Object.keys(set).length > 0 ? isolateTogether(here, variants, set, opts) : null);
    const bigShared = await start(bigSet);
    let smallShared: Awaited<ReturnType<typeof start>> = null;
    try {
      smallShared = await start(smallSet);
      if (bigShared) {
        const m = await interleaved(bigShared.samples, opts.samples);
        const native = m['native']!;
        const onHandle = 'baseline: tls.connect / tls.createServer';
        if (m['wirestack']) rows.push(throughputRow('tls-bulk', ROW_64K_DEFAULT, bytes, native, m['wirestack'], TARGET_64K, note(64 * 1024, onHandle) + pathNote(m['wirestack'])));
        if (m['truncation']) rows.push(throughputRow('tls-bulk', ROW_64K_TRUNC, bytes, native, m['truncation'], TARGET_64K_TRUNC, note(64 * 1024, onHandle) + pathNote(m['truncation'])));
        if (m['observed']) {
          rows.push(throughputRow('tls-bulk', ROW_OBSERVED_JS, bytes, m['nativeOverJs']!, m['observed'], TARGET_OBSERVED_JS,
            note(64 * 1024, 'wirestack: [identity, tls] on both ends; baseline: tls.connect({ socket }) / new TLSSocket over a hand-written Duplex around each socket') + pathNote(m['observed'])));
          rows.push(throughputRow('tls-bulk', ROW_OBSERVED_NATIVE, bytes, native, m['observed'], TARGET_OBSERVED_NATIVE,
            note(64 * 1024, `wirestack: [identity, tls] on both ends; ${onHandle}`) + pathNote(m['observed'])));
        }
      }
      if (smallShared) {
        const m = await interleaved(smallShared.samples, opts.samples);
        rows.push(throughputRow('tls-bulk', ROW_1K, bytes, m['native1k']!, m['wirestack1k']!, TARGET_1K,
          note(1024, 'default options; baseline: tls.connect / tls.createServer') + pathNote(m['wirestack1k']!)));
      }
    } finally {
      await Promise.all([bigShared?.close(), smallShared?.close()]);
    }
    // In the order, whatever order they were measured in.
    const order = [ROW_64K_DEFAULT, ROW_64K_TRUNC, ROW_1K, ROW_OBSERVED_JS, ROW_OBSERVED_NATIVE];
    return rows.sort((a, b) => order.indexOf(a.row) - order.indexOf(b.row));
  },
};

// TLS handshakes per second, a full TLS 1.3 handshake and a resumed TLS 1.2
// one, wirestack against native `tls`, one at a time over loopback TCP,
// client and server in one process; each kind's native and wirestack
// variants share a measuring process.
import net from 'node:net';
import tls from 'node:tls';
import { connect, type Connection, type Filter } from './wirestack.js';
import { benchCertificates } from './certs.js';
import type { Group } from './group.js';
import {
  type BenchOptions, type Row, type Series, type Timing, cpuNote, interleaved, median, paired, pairedRow, quiesce, speedup, startTiming, timed, unavailable,
} from './harness.js';
import { type Variant, isolateTogether } from './isolated.js';
import { destroyAll, wirestackAcceptor } from './transfer.js';
import { NO_TLS, sessionOf, tlsFilters, whenSecured, wasResumed } from './wirestack-tls.js';

const ROW_FULL = 'handshakes/s, TLS 1.3 full (vs native)';
const ROW_RESUMED = 'handshakes/s, TLS 1.2 resumed (vs native)';
const TARGET = 0.95;

/** A native TLS server that waits for each accepted connection's handshake. */
async function nativeServer(): Promise<{ port: number; next(): Promise<tls.TLSSocket>; close(): Promise<void> }> {
  const { key, cert } = benchCertificates();
  const done: tls.TLSSocket[] = [];
  const waiting: Array<(s: tls.TLSSocket) => void> = [];
  const server = tls.createServer({ key, cert }, (socket) => {
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else done.push(socket);
  });
  server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
  // A client destroyed right after its handshake can reset the server's socket; that is expected here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => {
      const s = done.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// The native client's contexts (CA and protocol versions), made once per
// version range: wirestack's filter makes its context once too, so neither
// side pays for it per handshake (the strongest baseline).
const clientContexts = new Map<string, tls.SecureContext>();

function clientContext(versions: Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion'>): tls.SecureContext {
  const key = `${versions.minVersion}-${versions.maxVersion}`;
  let context = clientContexts.get(key);
  if (!context) {
    context = tls.createSecureContext({ ca: benchCertificates().ca, ...versions });
    clientContexts.set(key, context);
  }
  return context;
}

// One native client handshake; resolves with the client socket once both ends have finished.
async function nativeHandshake(port: number, next: () => Promise<tls.TLSSocket>, options: tls.ConnectionOptions): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const { minVersion, maxVersion, ...rest } = options;
  const secureContext = clientContext({ minVersion, maxVersion });
  const client = tls.connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost', noDelay: true, ...rest } as tls.ConnectionOptions);
  client.on('error', () => {});
  const [, server] = await Promise.all([new Promise<void>((resolve, reject) => {
    client.once('secureConnect', () => resolve());
    client.once('error', reject);
  }), next()]);
  server.on('error', () => {});
  return [client, server];
}

// `count` handshakes one after the other, timed after a quiesce.
async function timedHandshakes(count: number, one: () => Promise<void>): Promise<Timing> {
  await quiesce();
  const timing = startTiming();
  for (let i = 0; i < count; i++) await one();
  return timing();
}

/** Which handshakes a variant times: full TLS 1.3 ones, or TLS 1.2 ones resuming one session. */
interface HandshakeArgs {
  readonly count: number;
  readonly kind: 'full' | 'resumed';
  readonly [key: string]: unknown;
}

/** Native TLS client and server: `count` handshakes per sample, each to both ends' completion. */
async function nativeVariant(args: HandshakeArgs): Promise<Variant> {
  const server = await nativeServer();
  const versions: tls.ConnectionOptions = args.kind === 'full' ? { minVersion: 'TLSv1.3' } : { maxVersion: 'TLSv1.2' };
  let session: Buffer | undefined;
  if (args.kind === 'resumed') {
    // One full handshake gives the session every sample then resumes.
    const [c0, s0] = await nativeHandshake(server.port, server.next, versions);
    session = c0.getSession();
    await destroyAll(c0, s0);
    if (!session) throw new Error('native TLS 1.2 gave no session to resume');
  }
  return {
    async sample() {
      let resumed = 0;
      const timing = await timedHandshakes(args.count, async () => {
        const ends = await nativeHandshake(server.port, server.next, { ...versions, ...(session ? { session } : {}) });
        if (ends[0].isSessionReused()) resumed++;
        await destroyAll(...ends);
      });
      return timed(timing, { resumed });
    },
    close: () => server.close(),
  };
}

/** wirestack's TLS filters on both ends, the same handshakes. */
async function wirestackVariant(args: HandshakeArgs): Promise<Variant> {
  const t = tlsFilters();
  if (!t) throw new Error(NO_TLS);
  const { key, cert, ca } = benchCertificates();
  const server = await wirestackAcceptor(t.server({ key, cert }));
  const handshake = async (filter: Filter): Promise<[Connection, Connection]> => {
    const [client, accepted] = await Promise.all([connect({ host: '127.0.0.1', port: server.port }, filter), server.next()]);
    await Promise.all([whenSecured(client), whenSecured(accepted)]);
    return [client, accepted];
  };
  let client = t.client({ ca, servername: 'localhost', minVersion: 'TLSv1.3' });
  if (args.kind === 'resumed') {
    const [c0, s0] = await Promise.all([
      connect({ host: '127.0.0.1', port: server.port }, t.client({ ca, servername: 'localhost', maxVersion: 'TLSv1.2' })),
      server.next(),
    ]);
    const session = await sessionOf(c0);
    await destroyAll(c0, s0);
    if (!session) throw new Error('wirestack TLS 1.2 gave no session to resume');
    client = t.client({ ca, servername: 'localhost', maxVersion: 'TLSv1.2', session });
  }
  return {
    async sample() {
      let resumed = 0;
      const timing = await timedHandshakes(args.count, async () => {
        const ends = await handshake(client);
        if (await wasResumed(ends[0])) resumed++;
        await destroyAll(...ends);
      });
      return timed(timing, { resumed });
    },
    close: () => server.close(),
  };
}

/** The variants; the rows sample those they compare in one measuring process (see isolated.ts). */
export const variants = { native: nativeVariant, wirestack: wirestackVariant };

function handshakeRow(row: string, count: number, native: Series, wirestack: Series, note: string): Row {
  return pairedRow({
    group: 'handshakes',
    row,
    baseline: `${(count / median(native.values)).toFixed(0)} /s`,
    wirestack: `${(count / median(wirestack.values)).toFixed(0)} /s`,
    ratios: paired(native, wirestack, speedup),
    target: `≥ ${TARGET.toFixed(2)}`,
    meets: (r) => r >= TARGET,
    note: note + cpuNote(native, wirestack),
  });
}

// Sessions resumed over all of a variant's samples.
function resumedOf(series: Series): number {
  return series.facts.reduce((sum, f) => sum + Number(f['resumed'] ?? 0), 0);
}

export const handshakesGroup: Group = {
  name: 'handshakes',
  rows: ['handshake-full', 'handshake-resumed'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const wanted = ([['handshake-full', ROW_FULL], ['handshake-resumed', ROW_RESUMED]] as const).filter(([id]) => selected.has(id));
    if (!tlsFilters()) return wanted.map(([, row]) => unavailable('handshakes', row, `≥ ${TARGET.toFixed(2)}`, NO_TLS, 'tls'));
    const rows: Row[] = [];
    const count = opts.handshakes;
    const here = import.meta.url;
    const internals = opts.publicApiOnly ? '; public API only (WIRESTACK_NODE_INTERNALS=0)' : '';
    // Each kind's native and wirestack variants share a measuring process (see
    // isolated.ts); the processes start at once, the rows are then measured one after the other.
    // A kind whose processes cannot start (no session to resume, say) gets a row that says why.
    const kinds = await Promise.all(wanted.map(async ([id, row]) => {
      const args: HandshakeArgs = { count, kind: id === 'handshake-full' ? 'full' : 'resumed' };
      try {
        return { row, args, isolated: await isolateTogether(here, variants, { native: { name: 'native', args }, wirestack: { name: 'wirestack', args } }, opts) };
      } catch (err) {
        return { row, args, failed: (err as Error).message.split('\n')[0]! };
      }
    }));
    try {
      for (const kind of kinds) {
        if (!kind.isolated) {
          rows.push(unavailable('handshakes', kind.row, `≥ ${TARGET.toFixed(2)}`, kind.failed));
          continue;
        }
        const m = await interleaved(kind.isolated.samples, opts.samples);
        const total = count * opts.samples;
        rows.push(handshakeRow(kind.row, count, m.native, m.wirestack, kind.args.kind === 'full'
          ? `${count} handshakes per sample, one at a time, each to both ends' completion, then destroyed; ECDSA P-256 certificate; the native client reuses one SecureContext, as the filter does${internals}`
          : `${count} handshakes per sample, one at a time; sessions actually resumed: native ${resumedOf(m.native)}/${total}, wirestack ${resumedOf(m.wirestack)}/${total}${internals}`));
      }
    } finally {
      await Promise.all(kinds.map((kind) => kind.isolated?.close()));
    }
    return rows;
  },
};

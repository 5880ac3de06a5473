// Row 8 of the issue: TLS handshakes per second, a full TLS 1.3 handshake and
// a resumed TLS 1.2 one, wirestack against native `tls`, one at a time over
// loopback TCP, client and server in this process.
import net from 'node:net';
import tls from 'node:tls';
import { connect, type Connection } from './wirestack.js';
import { benchCertificates } from './certs.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, type Sample, interleaved, secondsSince, unavailable } from './harness.js';
import { destroyAll, wirestackAcceptor } from './transfer.js';
import { NO_TLS, type TlsFilters, sessionOf, tlsFilters, whenSecured, wasResumed } from './wirestack-tls.js';

const ROW_FULL = 'handshakes/s, TLS 1.3 full (vs native)';
const ROW_RESUMED = 'handshakes/s, TLS 1.2 resumed (vs native)';

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

// `count` handshakes one after the other; resolves with the seconds they took.
async function timed(count: number, one: () => Promise<void>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await one();
  return secondsSince(start);
}

function handshakeRow(row: string, count: number, baselineSeconds: number, wirestackSeconds: number, note: string): Row {
  const ratio = baselineSeconds / wirestackSeconds;
  return {
    group: 'handshakes',
    row,
    baseline: `${(count / baselineSeconds).toFixed(0)} /s`,
    wirestack: `${(count / wirestackSeconds).toFixed(0)} /s`,
    ratio,
    target: '≥ 0.95',
    met: ratio >= 0.95,
    note,
  };
}

export const handshakesGroup: Group = {
  name: 'handshakes',
  rows: ['handshake-full', 'handshake-resumed'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const t = tlsFilters();
    if (!t) {
      return [
        ...(selected.has('handshake-full') ? [unavailable('handshakes', ROW_FULL, '≥ 0.95', NO_TLS, 'tls')] : []),
        ...(selected.has('handshake-resumed') ? [unavailable('handshakes', ROW_RESUMED, '≥ 0.95', NO_TLS, 'tls')] : []),
      ];
    }
    const rows: Row[] = [];
    const count = opts.handshakes;
    const native = await nativeServer();
    const { key, cert, ca } = benchCertificates();
    const wsServer = await wirestackAcceptor(t.server({ key, cert }));
    try {
      const wsHandshake = async (filter: ReturnType<TlsFilters['client']>): Promise<[Connection, Connection]> => {
        const [client, server] = await Promise.all([connect({ host: '127.0.0.1', port: wsServer.port }, filter), wsServer.next()]);
        await Promise.all([whenSecured(client), whenSecured(server)]);
        return [client, server];
      };
      if (selected.has('handshake-full')) {
        const wsClient = t.client({ ca, servername: 'localhost', minVersion: 'TLSv1.3' });
        const m = await interleaved({
          native: () => timed(count, async () => destroyAll(...await nativeHandshake(native.port, native.next, { minVersion: 'TLSv1.3' }))),
          wirestack: () => timed(count, async () => destroyAll(...await wsHandshake(wsClient))),
        }, opts.samples);
        rows.push(handshakeRow(ROW_FULL, count, m.native, m.wirestack,
          `${count} handshakes per sample, one at a time, each to both ends' completion, then destroyed; ECDSA P-256 certificate; the native client reuses one SecureContext, as the filter does`));
      }
      if (selected.has('handshake-resumed')) {
        // One full handshake each gives the session every sample then resumes.
        const [c0, s0] = await nativeHandshake(native.port, native.next, { maxVersion: 'TLSv1.2' });
        const nativeSession = c0.getSession();
        await destroyAll(c0, s0);
        const [wc0, ws0] = await Promise.all([
          connect({ host: '127.0.0.1', port: wsServer.port }, t.client({ ca, servername: 'localhost', maxVersion: 'TLSv1.2' })),
          wsServer.next(),
        ]);
        const wsSession = await sessionOf(wc0);
        await destroyAll(wc0, ws0);
        if (!nativeSession || !wsSession) {
          rows.push(unavailable('handshakes', ROW_RESUMED, '≥ 0.95', `no session to resume (native: ${nativeSession ? 'yes' : 'none'}, wirestack: ${wsSession ? 'yes' : 'none'})`));
        } else {
          let nativeResumed = 0;
          let wsResumed = 0;
          const wsClient = t.client({ ca, servername: 'localhost', maxVersion: 'TLSv1.2', session: wsSession });
          const samples: Record<'native' | 'wirestack', Sample> = {
            native: () => timed(count, async () => {
              const ends = await nativeHandshake(native.port, native.next, { maxVersion: 'TLSv1.2', session: nativeSession });
              if (ends[0].isSessionReused()) nativeResumed++;
              await destroyAll(...ends);
            }),
            wirestack: () => timed(count, async () => {
              const ends = await wsHandshake(wsClient);
              if (await wasResumed(ends[0])) wsResumed++;
              await destroyAll(...ends);
            }),
          };
          const m = await interleaved(samples, opts.samples);
          const total = count * (opts.samples + 1);
          rows.push(handshakeRow(ROW_RESUMED, count, m.native, m.wirestack,
            `${count} handshakes per sample, one at a time; sessions actually resumed: native ${nativeResumed}/${total}, wirestack ${wsResumed}/${total}`));
        }
      }
    } finally {
      await wsServer.close();
      await native.close();
    }
    return rows;
  },
};

// Child process of the heap row: opens N idle TLS connections (client and
// server end both in this process), native or wirestack, and prints the heap
// each one holds after a full garbage collection. Run with --expose-gc.
//
//   node --expose-gc --import tsx bench/heap-child.ts native|wirestack|wirestack-native-path N
import net from 'node:net';
import tls from 'node:tls';
import { connect, type Connection } from './wirestack.js';
import { benchCertificates } from './certs.js';
import { wirestackAcceptor } from './transfer.js';
import { tlsFilters, whenSecured } from './wirestack-tls.js';

/** What the child prints, one JSON line. */
export interface HeapReport {
  readonly variant: string;
  readonly connections: number;
  /** Heap bytes per connection (client and server end together), after gc. */
  readonly heapPerConnection: number;
  /** `external` bytes per connection (Buffers and native memory V8 knows about). */
  readonly externalPerConnection: number;
  /** Resident set growth per connection: the OpenSSL objects live outside the V8 heap. */
  readonly rssPerConnection: number;
}

const CONCURRENCY = 25;

async function collect(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Let closing handshakes and timers settle, then collect until the heap stops shrinking.
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage();
}

async function openNative(n: number, keep: unknown[]): Promise<void> {
  const { key, cert, ca } = benchCertificates();
  const waiting: Array<() => void> = [];
  const server = tls.createServer({ key, cert }, (socket) => {
    keep.push(socket);
    waiting.shift()?.();
  });
  keep.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const one = async (): Promise<void> => {
    const accepted = new Promise<void>((resolve) => waiting.push(resolve));
    const client = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    keep.push(client);
    await new Promise((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    await accepted;
  };
  await inBatches(n, one);
}

// `nativePath`: allowTruncation on both ends, which lets the TLS layer hand the socket to OpenSSL.
async function openWirestack(n: number, keep: unknown[], nativePath: boolean): Promise<void> {
  const t = tlsFilters();
  if (!t) throw new Error('no TLS filter');
  const { key, cert, ca } = benchCertificates();
  const extra = nativePath ? { allowTruncation: true } : {};
  const acceptor = await wirestackAcceptor(t.server({ key, cert, ...extra }));
  keep.push(acceptor);
  const client = t.client({ ca, servername: 'localhost', ...extra });
  const one = async (): Promise<void> => {
    const [c, s] = await Promise.all([connect({ host: '127.0.0.1', port: acceptor.port }, client), acceptor.next()]) as [Connection, Connection];
    keep.push(c, s);
    await Promise.all([whenSecured(c), whenSecured(s)]);
  };
  await inBatches(n, one);
}

async function inBatches(n: number, one: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
}

async function main(): Promise<void> {
  const [variant, count] = process.argv.slice(2);
  const n = Number(count);
  if ((variant !== 'native' && variant !== 'wirestack' && variant !== 'wirestack-native-path') || !(n > 0)) {
    throw new Error('usage: heap-child.ts native|wirestack|wirestack-native-path N');
  }
  const keep: unknown[] = [];
  // Everything the run needs is loaded and made before the first reading.
  benchCertificates();
  const before = await collect();
  if (variant === 'native') await openNative(n, keep);
  else await openWirestack(n, keep, variant === 'wirestack-native-path');
  const after = await collect();
  const report: HeapReport = {
    variant,
    connections: n,
    heapPerConnection: (after.heapUsed - before.heapUsed) / n,
    externalPerConnection: (after.external - before.external) / n,
    rssPerConnection: (after.rss - before.rss) / n,
  };
  console.log(JSON.stringify(report));
  // The connections stay open to the end; exiting closes them all at once.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// Load and soak: N concurrent echo clients through tls → deflate → log (to a
// null sink) on loopback, random message sizes, SHA-256 of all bytes sent and
// received compared per connection, heap and RSS sampled every second.
//
//   npm run soak -- --connections 500 --seconds 30
//   npm run soak -- --layers ''        # the same load with no layers, a baseline
//
// Prints connections, bytes, mismatches and errors by code (both must be
// none) and memory at start, peak and end; exits non-zero on a mismatch, an
// error, or a connection that does not finish.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Connection, type Filter, connect, deflate, isWirestackError, listen, log, tls } from '../lib/index.js';
import { Random, makeCertificates } from '../lib/testing/index.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
    'max-message': { type: 'string', default: '65536' },
    // Which layers, lowest first, from tls, deflate and log; '' for none (a baseline).
    layers: { type: 'string', default: 'tls,deflate,log' },
  },
});
const CONNECTIONS = Number(values.connections);
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed);
const MAX_MESSAGE = Number(values['max-message']);
// Connections still open this long after the writers stop have hung.
const GRACE_MS = 30_000;

const certs = makeCertificates();
const nullSink = (): void => {};
const layerNames = values.layers.split(',').filter((name) => name !== '');
const LAYERS = layerNames.length === 0 ? 'no layers' : layerNames.join(' → ');
const makeLayer = (name: string, role: 'client' | 'server'): Filter => {
  switch (name) {
    case 'tls': return role === 'client' ? tls.client({ ca: certs.ca.cert, servername: 'localhost' }) : tls.server(certs.server);
    case 'deflate': return deflate();
    case 'log': return log({ sink: nullSink });
    default: throw new Error(`soak: unknown layer "${name}" (tls, deflate, log)`);
  }
};
const serverStack = (): Filter[] => layerNames.map((name) => makeLayer(name, 'server'));
const clientStack = (): Filter[] => layerNames.map((name) => makeLayer(name, 'client'));

// Memory, sampled every second.
interface Sample { heap: number; rss: number }
const sample = (): Sample => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const memory = { start: sample(), peak: sample(), end: sample() };
const sampler = setInterval(() => {
  const now = sample();
  memory.peak = { heap: Math.max(memory.peak.heap, now.heap), rss: Math.max(memory.peak.rss, now.rss) };
}, 1000);

const errors = new Map<string, number>();
const countError = (err: unknown): void => {
  const code = isWirestackError(err) ? err.code : `uncoded: ${String(err)}`;
  errors.set(code, (errors.get(code) ?? 0) + 1);
};
process.on('uncaughtException', (err) => countError(err));
process.on('unhandledRejection', (err) => countError(err));

// Messages are slices of one random pool: cheap to make, still incompressible-ish.
const pool = new Random(SEED).bytes(4 << 20);

const listener = await listen({ host: '127.0.0.1', port: 0 }, serverStack(), async (conn) => {
  for await (const chunk of conn) await conn.send(chunk as Buffer);
  await conn.close();
}, { backlog: Math.max(511, CONNECTIONS) });
listener.on('connectionError', countError);
const { port } = listener.address() as { port: number };

// Set when every client is connected: the clock starts then.
let deadline = Infinity;
let bytesSent = 0;
let bytesReceived = 0;
let mismatches = 0;
let completed = 0;

// Phase one: every client connects and finishes its handshake, a bounded
// number at a time (a herd of 500 RSA handshakes at once on a busy loop
// would be a test of the handshake timeout, not of the stack).
const HANDSHAKES_IN_FLIGHT = 32;
async function connectAll(): Promise<Array<Connection | null>> {
  const conns: Array<Connection | null> = new Array(CONNECTIONS).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      const index = next++;
      try {
        const conn = await connect({ host: '127.0.0.1', port }, clientStack());
        conns[index] = conn;
        if (layerNames.includes('tls')) await conn.secured;
      } catch (err) {
        countError(err);
        conns[index]?.destroy();
        conns[index] = null;
      }
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKES_IN_FLIGHT }, worker));
  return conns;
}

// Phase two: every client sends random messages until the deadline, reading
// the echo as it comes, then closes and compares.
async function runClient(index: number, conn: Connection | null): Promise<void> {
  if (conn === null) return;
  const random = new Random(SEED * 100_003 + index);
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let sentBytes = 0;
  let receivedBytes = 0;
  const reading = (async () => {
    for (let c = await conn.receive(); c !== null; c = await conn.receive()) {
      received.update(c);
      receivedBytes += c.length;
    }
  })();
  try {
    while (Date.now() < deadline) {
      const size = random.size(1, MAX_MESSAGE);
      const at = random.int(0, pool.length - size);
      const message = pool.subarray(at, at + size);
      sent.update(message);
      sentBytes += size;
      await conn.send(message);
    }
    await conn.close();
    await reading;
    if (sentBytes !== receivedBytes || sent.digest('hex') !== received.digest('hex')) mismatches++;
    else completed++;
  } catch (err) {
    countError(err);
    conn.destroy();
    await reading.catch(() => undefined);
  } finally {
    bytesSent += sentBytes;
    bytesReceived += receivedBytes;
  }
}

const started = Date.now();
const conns = await connectAll();
const connectSeconds = (Date.now() - started) / 1000;
deadline = Date.now() + SECONDS * 1000;
const clients = Promise.all(conns.map((conn, i) => runClient(i, conn)));
let hung = false;
const watchdog = new Promise<void>((resolve) => {
  const timer = setTimeout(() => {
    hung = true;
    resolve();
  }, SECONDS * 1000 + GRACE_MS);
  void clients.then(() => {
    clearTimeout(timer);
    resolve();
  });
});
await watchdog;
await listener.close({ drain: !hung, timeout: 1000 });
clearInterval(sampler);
gc?.();
memory.end = sample();
memory.peak = { heap: Math.max(memory.peak.heap, memory.end.heap), rss: Math.max(memory.peak.rss, memory.end.rss) };

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const seconds = (Date.now() - started) / 1000 - connectSeconds;
console.log(`soak: ${CONNECTIONS} connections × ${SECONDS} s through ${LAYERS} (seed ${SEED}), ${(seconds + connectSeconds).toFixed(1)} s in all`);
console.log(`  connected      ${conns.filter((c) => c !== null).length} / ${CONNECTIONS} in ${connectSeconds.toFixed(1)} s (${HANDSHAKES_IN_FLIGHT} handshakes at a time)`);
console.log(`  completed      ${completed} / ${CONNECTIONS}`);
console.log(`  bytes          sent ${mib(bytesSent)}, received ${mib(bytesReceived)} (${mib(bytesSent / seconds)}/s each way)`);
console.log(`  mismatches     ${mismatches}`);
console.log(`  errors         ${errors.size === 0 ? 'none' : [...errors].map(([code, n]) => `${code} × ${n}`).join(', ')}`);
console.log(`  heap           start ${mib(memory.start.heap)}, peak ${mib(memory.peak.heap)}, end ${mib(memory.end.heap)}`);
console.log(`  rss            start ${mib(memory.start.rss)}, peak ${mib(memory.peak.rss)}, end ${mib(memory.end.rss)}`);
if (hung) console.log(`  HUNG: ${CONNECTIONS - completed - mismatches} connections did not finish within ${GRACE_MS / 1000} s of the end`);
const failed = hung || mismatches > 0 || errors.size > 0 || completed !== CONNECTIONS;
process.exit(failed ? 1 : 0);

// Load and soak: N concurrent echo clients through tls → deflate → log (to a
// null sink) on loopback, random message sizes, SHA-256 of all bytes sent and
// received compared per connection. The load runs in rounds: each round
// connects N clients, runs them for its share of the time and closes them
// all; after each round (every connection released, then GC) heap, external
// memory and RSS are printed, so that memory that does not come back shows
// as growth from round to round.
//
//   npm run soak -- --connections 500 --seconds 30 --rounds 3
//   npm run soak -- --layers ''        # the same load with no layers, a baseline
//
// Exits non-zero on a mismatch, an error, connections that move no byte for
// 30 s, or heap after the last round more than --heap-growth % above heap
// after the first.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type Connection, type Filter, connect, deflate, isWirestackError, listen, log, tls } from '../lib/index.js';
import { Random, makeCertificates } from '../lib/testing/index.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '500' },
    // Seconds of load in all, shared between the rounds.
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    'max-message': { type: 'string', default: '65536' },
    // Which layers, lowest first, from tls, deflate and log; '' for none (a baseline).
    layers: { type: 'string', default: 'tls,deflate,log' },
    // Percent by which heap after the last round may exceed heap after the first.
    'heap-growth': { type: 'string', default: '10' },
  },
});
const CONNECTIONS = Number(values.connections);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const SEED = Number(values.seed);
const MAX_MESSAGE = Number(values['max-message']);
const HEAP_GROWTH = Number(values['heap-growth']);
const ROUND_MS = (SECONDS * 1000) / ROUNDS;
// Connections that move no byte for this long have hung. (Not a bound on the
// whole round: what is in flight when the writers stop, up to the stacks'
// high-water marks, takes long to drain through 1,000 stacks on a busy machine.)
const STALL_MS = 30_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('soak: run with node --expose-gc (npm run soak does)');

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

// Memory: sampled every second for the peak, and after each round once
// everything is released and collected.
// heap: V8's heapUsed; external: memory outside the heap that V8 is told of
// (buffers, zlib's state); rss: all the process holds.
interface Sample { heap: number; external: number; rss: number }
const sample = (): Sample => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
};
async function collectedSample(): Promise<Sample> {
  gc!();
  // Buffers whose release one collection starts are freed after a turn of
  // the event loop; a second collection then sees them gone.
  await new Promise((resolve) => setImmediate(resolve));
  gc!();
  return sample();
}
let peak = await collectedSample();
const atStart = peak;
const sampler = setInterval(() => {
  const now = sample();
  peak = { heap: Math.max(peak.heap, now.heap), external: Math.max(peak.external, now.external), rss: Math.max(peak.rss, now.rss) };
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

// What one round did.
interface Round {
  connected: number;
  completed: number;
  mismatches: number;
  bytesSent: number;
  bytesReceived: number;
  // From the clock's start (every client connected) until every client is done.
  seconds: number;
  connectSeconds: number;
  hung: boolean;
}

// Phase one of a round: every client connects and finishes its handshake, a
// bounded number at a time (a herd of 500 RSA handshakes at once on a busy
// loop would be a test of the handshake timeout, not of the stack).
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

// Phase two: a client sends random messages until the deadline, reading the
// echo as it comes, then closes and compares.
async function runClient(conn: Connection, seed: number, deadline: number, round: Round): Promise<void> {
  const random = new Random(seed);
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let sentBytes = 0;
  let receivedBytes = 0;
  const reading = (async () => {
    for (let c = await conn.receive(); c !== null; c = await conn.receive()) {
      received.update(c);
      receivedBytes += c.length;
      lastProgress = Date.now();
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
    if (sentBytes !== receivedBytes || sent.digest('hex') !== received.digest('hex')) round.mismatches++;
    else round.completed++;
  } catch (err) {
    countError(err);
    conn.destroy();
    await reading.catch(() => undefined);
  } finally {
    round.bytesSent += sentBytes;
    round.bytesReceived += receivedBytes;
  }
}

// When a client last received a byte.
let lastProgress = Date.now();

// Resolves true when `done` settles, false once no client has received a
// byte for STALL_MS.
async function finishesOrStalls(done: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  while (!settled) {
    if (Date.now() - lastProgress > STALL_MS) return false;
    await sleep(100);
  }
  return true;
}

// One round, from the first connect until the server has let go of every
// connection (a hung one is destroyed, so the next round starts clean).
async function runRound(index: number): Promise<Round> {
  const round: Round = { connected: 0, completed: 0, mismatches: 0, bytesSent: 0, bytesReceived: 0, seconds: 0, connectSeconds: 0, hung: false };
  const started = Date.now();
  const conns = await connectAll();
  round.connected = conns.filter((c) => c !== null).length;
  round.connectSeconds = (Date.now() - started) / 1000;
  const loadStarted = Date.now();
  const deadline = loadStarted + ROUND_MS;
  const clients = Promise.all(conns.map((conn, i) => conn && runClient(conn, SEED * 100_003 + index * CONNECTIONS + i, deadline, round)));
  lastProgress = Date.now();
  round.hung = !(await finishesOrStalls(clients));
  round.seconds = (Date.now() - loadStarted) / 1000;
  if (round.hung) for (const conn of conns) conn?.destroy();
  // Every client is done; the server's ends close right after.
  const serverStarted = Date.now();
  while (listener.connections.size > 0 && Date.now() - serverStarted < STALL_MS) await sleep(10);
  if (listener.connections.size > 0) {
    round.hung = true;
    for (const conn of listener.connections) conn.destroy();
  }
  return round;
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const started = Date.now();
console.log(`soak: ${CONNECTIONS} connections × ${SECONDS} s through ${LAYERS} (seed ${SEED}), ${ROUNDS} rounds of ${(ROUND_MS / 1000).toFixed(1)} s, Node ${process.version}`);
const describeSample = (s: Sample): string => `heap ${mib(s.heap)}, external ${mib(s.external)}, rss ${mib(s.rss)}`;
console.log(`  at start: ${describeSample(atStart)}`);
const totals = { connected: 0, completed: 0, mismatches: 0, bytes: 0, seconds: 0 };
const heapAfter: number[] = [];
let hung = false;
for (let index = 0; index < ROUNDS; index++) {
  const round = await runRound(index);
  const after = await collectedSample();
  heapAfter.push(after.heap);
  totals.connected += round.connected;
  totals.completed += round.completed;
  totals.mismatches += round.mismatches;
  totals.bytes += round.bytesSent;
  totals.seconds += round.seconds;
  hung ||= round.hung;
  console.log(`  round ${index + 1}: connected ${round.connected} in ${round.connectSeconds.toFixed(1)} s, completed ${round.completed}, ` +
    `mismatches ${round.mismatches}, ${mib(round.bytesSent / round.seconds)}/s each way${round.hung ? ', HUNG' : ''}; ` +
    `after: ${describeSample(after)}`);
}
await listener.close({ drain: false });
clearInterval(sampler);
const atEnd = await collectedSample();
const growth = (heapAfter.at(-1)! / heapAfter[0]! - 1) * 100;

console.log(`  connected      ${totals.connected} / ${CONNECTIONS * ROUNDS} (${HANDSHAKES_IN_FLIGHT} handshakes at a time)`);
console.log(`  completed      ${totals.completed} / ${CONNECTIONS * ROUNDS}`);
console.log(`  bytes          ${mib(totals.bytes)} each way (${mib(totals.bytes / totals.seconds)}/s)`);
console.log(`  mismatches     ${totals.mismatches}`);
console.log(`  errors         ${errors.size === 0 ? 'none' : [...errors].map(([code, n]) => `${code} × ${n}`).join(', ')}`);
console.log(`  heap           after round 1 ${mib(heapAfter[0]!)}, after round ${ROUNDS} ${mib(heapAfter.at(-1)!)} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, at most +${HEAP_GROWTH} %), peak ${mib(peak.heap)}, at the end ${mib(atEnd.heap)}`);
console.log(`  external       peak ${mib(peak.external)}, at the end ${mib(atEnd.external)}`);
console.log(`  rss            peak ${mib(peak.rss)}, at the end ${mib(atEnd.rss)}`);
console.log(`  time           ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
if (hung) console.log(`  HUNG: connections moved no byte for ${STALL_MS / 1000} s, or the server did not let go of them`);
const failed = hung || totals.mismatches > 0 || errors.size > 0 || totals.completed !== CONNECTIONS * ROUNDS || growth > HEAP_GROWTH;
process.exit(failed ? 1 : 0);

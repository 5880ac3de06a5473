// The TLS mutation fuzzer: records real sessions with record() below the TLS
// layer, mutates what one end received, and feeds it to a fresh layer of
// that end through replay(). Every case must end in a coded error or a
// clean close within the bound; nothing may throw past the stack, and no
// timer, socket or listener may be left behind after a batch.
import net from 'node:net';
import { type Connection, ERROR_CODES, type Filter, connect, isWirestackError, listen, tls, wrap } from '../../lib/index.js';
import type { Role } from '../../lib/filter.js';
import { Random, duplexPair, fault, makeCertificates, record, replay } from '../../lib/testing/index.js';
import type { Transcript } from '../../lib/testing/index.js';
import { mutate } from './mutate.js';

/** How long one case may take, start to close. */
export const CASE_BOUND_MS = 2000;

/** One thing fuzzed: an engine and protocol version in one role, with the peer's recorded bytes. */
export interface FuzzTarget {
  readonly name: string;
  readonly engine: string;
  readonly role: Role;
  /** Makes the layer under test (the filter is reused: it holds options only). */
  readonly filter: Filter;
  /** The other role's filter, for live cases. */
  readonly peer: Filter;
  /** What the peer sent in the recorded session, as one stream. */
  readonly peerBytes: Buffer;
}

/** What a run found for one target. */
export interface TargetReport {
  cases: number;
  /** Outcomes: `'clean'` or the error code, with counts. */
  outcomes: Map<string, number>;
  /** Cases that broke a rule, with their seed, to replay. */
  failures: string[];
}

/** Engines the TLS filter has on this build ('forge' once it is registered). */
export function availableEngines(): string[] {
  const certs = makeCertificates();
  return ['node', 'forge'].filter((engine) => {
    try {
      tls.client({ ca: certs.ca.cert, engine: engine as 'node' | 'forge', ...VERSIONS[engine]![0]!.options });
      return true;
    } catch {
      return false;
    }
  });
}

// The protocol versions fuzzed per engine, with the options that pin them.
const VERSIONS: Record<string, Array<{ label: string; options: { minVersion?: 'TLSv1' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' } }>> = {
  node: [
    { label: 'TLS1.3', options: { minVersion: 'TLSv1.3' } },
    { label: 'TLS1.2', options: { maxVersion: 'TLSv1.2' } },
  ],
  // A forge server answers TLS 1.0 whatever the client offers.
  forge: [{ label: 'TLS1.0', options: { minVersion: 'TLSv1' } }],
};

/** Records one real session per engine and version and makes a target per role. */
export async function makeTargets(engines = availableEngines()): Promise<FuzzTarget[]> {
  const certs = makeCertificates();
  const targets: FuzzTarget[] = [];
  for (const engine of engines) {
    for (const { label, options } of VERSIONS[engine] ?? []) {
      const common = { ...options, engine: engine as 'node' | 'forge', handshakeTimeout: CASE_BOUND_MS - 500 };
      const client = tls.client({ ca: certs.ca.cert, servername: 'localhost', ...common });
      const server = tls.server({ ...certs.server, ...common });
      const { clientTranscript, serverTranscript } = await recordSession(client, server);
      targets.push(
        { name: `${engine} ${label} client`, engine, role: 'client', filter: client, peer: server, peerBytes: received(clientTranscript) },
        { name: `${engine} ${label} server`, engine, role: 'server', filter: server, peer: client, peerBytes: received(serverTranscript) },
      );
    }
  }
  return targets;
}

// A handshake, a request and an answer, and close_notify both ways, recorded at the wire.
async function recordSession(client: Filter, server: Filter): Promise<{ clientTranscript: Transcript; serverTranscript: Transcript }> {
  const clientRecorder = record();
  const serverRecorder = record();
  const [a, b] = duplexPair();
  const c = wrap(a, [clientRecorder, client], { role: 'client', remote: { host: 'localhost' } });
  const s = wrap(b, [serverRecorder, server], { role: 'server' });
  await c.send('request: '.padEnd(300, 'x'));
  await s.receiveExactly(300);
  await s.send('answer: '.padEnd(3000, 'y'));
  await c.receiveExactly(3000);
  await c.close();
  await s.receive();
  await s.close();
  await c.receive();
  return { clientTranscript: clientRecorder.transcript, serverTranscript: serverRecorder.transcript };
}

function received(transcript: Transcript): Buffer {
  return Buffer.concat(transcript.entries.filter((e) => e.direction === 'in' && e.bytes).map((e) => e.bytes!));
}

/**
 * Where a case's bytes travel: a replay stream in memory, a real loopback
 * TCP socket, or `'live'`: a real session with a real peer whose bytes are
 * corrupted or cut in flight (which reaches the record layer after the
 * handshake, where replayed bytes cannot: their keys are gone).
 */
export type Transport = 'memory' | 'tcp' | 'live';

// The connection under test, fed `chunks` and then an end by its peer, and
// what to undo afterwards.
async function openCase(target: FuzzTarget, chunks: Buffer[], transport: Transport): Promise<{ conn: Connection; cleanup: () => Promise<void> }> {
  if (transport === 'memory') {
    const raw = replay({ role: target.role === 'client' ? 'server' : 'client', entries: chunks.map((bytes) => ({ direction: 'in', bytes, at: 0 })) },
      { pace: 'eager', end: true });
    return { conn: wrap(raw, [target.filter], { role: target.role, remote: { host: 'localhost' } }), cleanup: async () => {} };
  }
  // A peer that writes the mutated bytes, ends, and discards what it gets.
  const feed = (socket: net.Socket): void => {
    socket.on('error', () => {});
    socket.resume();
    for (const chunk of chunks) socket.write(chunk);
    socket.end();
  };
  if (target.role === 'client') {
    const peer = net.createServer({ allowHalfOpen: true }, feed);
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const { port } = peer.address() as net.AddressInfo;
    const cleanup = (): Promise<void> => new Promise((resolve) => peer.close(() => resolve()));
    try {
      return { conn: await connect({ host: '127.0.0.1', port }, [target.filter]), cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }
  let accepted!: (conn: Connection) => void;
  const conn = new Promise<Connection>((resolve) => (accepted = resolve));
  const listener = await listen({ host: '127.0.0.1', port: 0 }, [target.filter], (c) => accepted(c));
  listener.on('connectionError', () => {});
  const socket = net.connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port, allowHalfOpen: true });
  feed(socket);
  return {
    conn: await conn,
    cleanup: async () => {
      socket.destroy();
      await listener.close({ drain: false });
    },
  };
}

/**
 * Runs one case: the peer's bytes mutated by `seed`, fed to a fresh layer.
 * Returns the outcome (`'clean'` or the error code); throws if a rule broke.
 */
export async function runCase(target: FuzzTarget, seed: number, transport: Transport = 'memory'): Promise<string> {
  if (transport === 'live') return runLiveCase(target, seed);
  const random = new Random(seed);
  const { chunks, applied } = mutate(target.peerBytes, random);
  const what = `${applied.join('+')} over ${transport}`;
  const { conn, cleanup } = await openCase(target, chunks, transport);
  const closed = new Promise<void>((resolve) => (conn.closed ? resolve() : conn.once('close', () => resolve())));
  const run = (async (): Promise<string> => {
    try {
      while ((await conn.receive()) !== null);
      await conn.close();
      return 'clean';
    } catch (err) {
      if (!isWirestackError(err) || !(err.code in ERROR_CODES)) {
        throw new Error(`uncoded error ${String(err)} (${what})`, { cause: err });
      }
      return err.code;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`the case did not end within ${CASE_BOUND_MS} ms (${what})`));
    }, CASE_BOUND_MS);
  });
  try {
    const outcome = await Promise.race([run, bound]);
    await Promise.race([closed, bound]);
    if (transport === 'tcp' && !conn.raw.stream.destroyed) throw new Error(`the socket stayed open after the case (${what})`);
    return outcome;
  } finally {
    clearTimeout(timer);
    conn.destroy();
    await cleanup();
  }
}

// A request and an answer between the layer under test and a real peer,
// with the bytes the layer under test reads corrupted or cut at a random
// offset; both ends must finish, cleanly or with a coded error.
async function runLiveCase(target: FuzzTarget, seed: number): Promise<string> {
  const random = new Random(seed);
  const offset = random.int(0, target.peerBytes.length + 4000);
  const corrupt = random.next() < 0.7;
  const what = `${corrupt ? 'corrupt' : 'truncate'} at ${offset}, live`;
  const broken = corrupt ? fault({ corruptAt: offset }) : fault({ truncateAt: offset });
  const [a, b] = duplexPair();
  const testedRaw = target.role === 'client' ? a : b;
  const peerRaw = target.role === 'client' ? b : a;
  const tested = wrap(testedRaw, [broken, target.filter], { role: target.role, remote: { host: 'localhost' } });
  const peer = wrap(peerRaw, [target.peer], { role: target.role === 'client' ? 'server' : 'client', remote: { host: 'localhost' } });
  const [client, server] = target.role === 'client' ? [tested, peer] : [peer, tested];
  const outcome = (promise: Promise<void>): Promise<string> => promise.then(() => 'clean', (err: unknown) => {
    if (!isWirestackError(err) || !(err.code in ERROR_CODES)) throw new Error(`uncoded error ${String(err)} (${what})`, { cause: err });
    return err.code;
  });
  const clientSide = outcome((async () => {
    await client.send('request: '.padEnd(300, 'x'));
    await client.receiveExactly(3000);
    await client.close();
    while ((await client.receive()) !== null);
  })());
  const serverSide = outcome((async () => {
    await server.receiveExactly(300);
    await server.send('answer: '.padEnd(3000, 'y'));
    while ((await server.receive()) !== null);
    await server.close();
  })());
  // Whichever end fails first, the other must not wait for ever.
  void clientSide.then((o) => o === 'clean' || server.destroy(), () => server.destroy());
  void serverSide.then((o) => o === 'clean' || client.destroy(), () => client.destroy());
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case did not end within ${CASE_BOUND_MS} ms (${what})`)), CASE_BOUND_MS);
  });
  const closedBoth = Promise.all([tested, peer].map((c) => new Promise<void>((resolve) => (c.closed ? resolve() : c.once('close', () => resolve())))));
  try {
    const [clientOutcome, serverOutcome] = await Promise.race([Promise.all([clientSide, serverSide]), bound]);
    await Promise.race([closedBoth, bound]);
    return target.role === 'client' ? clientOutcome : serverOutcome;
  } finally {
    clearTimeout(timer);
    tested.destroy();
    peer.destroy();
  }
}

// Counts of live resources by kind, and of process listeners.
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  let listeners = 0;
  for (const event of process.eventNames()) listeners += process.listenerCount(event);
  counts.set('process listeners', listeners);
  return counts;
}

/** What was left behind since `before`: kinds whose count grew. */
function leaks(before: Map<string, number>): string[] {
  const after = resources();
  const grown: string[] = [];
  for (const [kind, n] of after) if (n > (before.get(kind) ?? 0)) grown.push(`${kind} ${before.get(kind) ?? 0} → ${n}`);
  return grown;
}

/**
 * Runs `cases` cases per target in batches, `concurrency` at a time, and
 * checks for leaked resources after each batch. Case seeds are
 * `seed * 1_000_003 + index`, so any case replays alone; of every ten
 * cases, seven replay in memory, two are live, one goes over loopback TCP.
 */
export async function fuzz(targets: FuzzTarget[], cases: number, seed: number, options: { concurrency?: number; batch?: number; onBatch?: (done: number) => void } = {}): Promise<Map<string, TargetReport>> {
  const concurrency = options.concurrency ?? 4;
  const batch = options.batch ?? 100;
  const reports = new Map<string, TargetReport>();
  const escaped: unknown[] = [];
  const onEscape = (err: unknown): void => void escaped.push(err);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  // The baseline is taken with the fuzzer's own listeners installed.
  await settle();
  const baseline = resources();
  try {
    for (const target of targets) {
      const report: TargetReport = { cases: 0, outcomes: new Map(), failures: [] };
      reports.set(target.name, report);
      for (let start = 0; start < cases; start += batch) {
        const end = Math.min(cases, start + batch);
        let next = start;
        const worker = async (): Promise<void> => {
          while (next < end) {
            const index = next++;
            const caseSeed = (seed * 1_000_003 + index) >>> 0;
            // One case in ten goes over a real socket, two in ten are live.
            const transport: Transport = index % 10 === 9 ? 'tcp' : index % 10 >= 7 ? 'live' : 'memory';
            try {
              const outcome = await runCase(target, caseSeed, transport);
              report.outcomes.set(outcome, (report.outcomes.get(outcome) ?? 0) + 1);
            } catch (err) {
              report.failures.push(`case seed ${caseSeed} (${transport}): ${(err as Error).message}`);
            }
            report.cases++;
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        await settle();
        const left = leaks(baseline);
        if (left.length > 0) report.failures.push(`after cases ${start}–${end - 1}: left behind ${left.join(', ')}`);
        for (const err of escaped.splice(0)) report.failures.push(`escaped: ${String(err)}`);
        options.onBatch?.(end);
      }
    }
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  }
  return reports;
}

// Lets closes and timers cleared in the last case finish.
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

// Property tests over the core and every filter on main: whatever the write
// sizes, the fragmentation, and the interleaving of end, destroy and errors
// on both sides, each case ends with the exact bytes or a coded error, within
// a bound, with no uncaught exception and no unhandled rejection.
// WIRESTACK_PROPERTY_RUNS sets the number of cases (default 60).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, type Filter, ERROR_CODES, fromTransforms, identity, isWirestackError, tls, wrap } from '../lib/index.js';
import { PassThrough } from '../lib/stream.js';
import { Random, delay, duplexPair, fragment, makeCertificates, record } from '../lib/testing/index.js';

const RUNS = Number(process.env.WIRESTACK_PROPERTY_RUNS ?? 60);
// Heavier stacks (a TLS handshake per case) run a fraction of the cases.
const TLS_RUNS = Math.max(10, Math.round(RUNS / 3));
// No case may take longer than this, start to close.
const BOUND_MS = 5000;

const certs = makeCertificates();

// Stacks under test: [client filters, server filters], made fresh per case.
const STACKS: Record<string, () => [Filter[], Filter[]]> = {
  raw: () => [[], []],
  identity: () => [[identity(), identity('identity-2')], [identity()]],
  fromTransforms: () => {
    const pass = fromTransforms({ name: 'pass', outbound: () => new PassThrough(), inbound: () => new PassThrough() });
    return [[pass], [pass, identity()]];
  },
  fragment: () => [[fragment({ seed: 1, min: 1, max: 50 })], [fragment([1, 7, 300])]],
  delay: () => [[delay({ ms: 0, jitter: 1, seed: 3 })], [record()]],
  tls: () => [
    [tls.client({ ca: certs.ca.cert, handshakeTimeout: 3000 })],
    [tls.server({ ...certs.server, handshakeTimeout: 3000 })],
  ],
  'tls-forge': () => [
    [tls.client({ ca: certs.ca.cert, handshakeTimeout: 3000, engine: 'forge', minVersion: 'TLSv1' })],
    [tls.server({ ...certs.server, handshakeTimeout: 3000, engine: 'forge', minVersion: 'TLSv1' })],
  ],
};

// Failures that escape everything: the property fails if any appear.
const escaped: unknown[] = [];
const onUncaught = (err: unknown): void => void escaped.push(err);
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

class Hang extends Error {}
function bounded<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function expectCoded(err: unknown, where: string): void {
  if (err instanceof Hang) throw err;
  if (!isWirestackError(err) || !(err.code in ERROR_CODES)) {
    throw new Error(`${where}: expected a coded WirestackError, got ${String(err)}`, { cause: err });
  }
}

const closedOf = (conn: Connection): Promise<void> =>
  conn.closed ? Promise.resolve() : new Promise((resolve) => conn.once('close', () => resolve()));

// Reads until the end or a failure; what arrived, and the failure if any.
async function readAll(conn: Connection): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for (let c = await conn.receive(); c !== null; c = await conn.receive()) chunks.push(c);
    return { bytes: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

function makePair(stack: string, split: number): [Connection, Connection] {
  const [clientFilters, serverFilters] = STACKS[stack]!();
  const random = new Random(split);
  const [a, b] = duplexPair({ highWaterMark: 1 + (split % 32768), split: (chunk) => random.split(chunk, 1, 1 + (split % 5000)) });
  return [
    wrap(a, clientFilters, { role: 'client', remote: { host: 'localhost' } }),
    wrap(b, serverFilters, { role: 'server' }),
  ];
}

type Side = 'client' | 'server';
type Op =
  | { side: Side; kind: 'send'; size: number }
  | { side: Side; kind: 'end' | 'destroy' | 'error' | 'layerError' | 'yield' };

const side = fc.constantFrom<Side>('client', 'server');
const sendOp = fc.record({ side, kind: fc.constant('send' as const), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 40_000 })) });
const otherOp = fc.record({ side, kind: fc.constantFrom('end' as const, 'destroy' as const, 'error' as const, 'layerError' as const, 'yield' as const) });
const writesOnly = fc.array(sendOp, { maxLength: 12 });
const anyOps = fc.array(fc.oneof({ weight: 4, arbitrary: sendOp }, { weight: 2, arbitrary: otherOp }), { maxLength: 12 });

/**
 * Runs one case: applies the ops in order, then closes what is still open,
 * and checks the outcome. `clean` (no destroy or error op): each side must
 * read exactly what the other sent, and nothing may fail.
 */
async function runCase(stack: string, split: number, ops: Op[]): Promise<void> {
  const [client, server] = makePair(stack, split);
  const conns = { client, server };
  const errorEvents = { client: 0, server: 0 };
  const errorsEmitted: Array<[string, unknown]> = [];
  client.on('error', (err) => void (errorEvents.client++, errorsEmitted.push(['client error event', err])));
  server.on('error', (err) => void (errorEvents.server++, errorsEmitted.push(['server error event', err])));
  const sent = { client: [] as Buffer[], server: [] as Buffer[] };
  const reading = { client: readAll(client), server: readAll(server) };
  const failures: Array<[string, unknown]> = [];
  const random = new Random(split ^ 0x5eed);
  let clean = true;
  // Sides the test itself destroyed with a plain Error: their `errored` is that error.
  const injected = new Set<Side>();
  const ended = { client: false, server: false };
  try {
    for (const op of ops) {
      const conn = conns[op.side];
      switch (op.kind) {
        case 'send': {
          const data = random.bytes(op.size);
          try {
            await bounded(conn.send(data), `${op.side}.send`);
            sent[op.side].push(data);
          } catch (err) {
            // Sending after one's own end is refused, and says so.
            if (ended[op.side] && clean) expect(err).toMatchObject({ code: 'ERR_WIRESTACK_CLOSED' });
            else failures.push([`${op.side}.send`, err]);
          }
          break;
        }
        case 'end':
          ended[op.side] = true;
          await bounded(conn.close(), `${op.side}.close`).catch((err) => failures.push([`${op.side}.close`, err]));
          break;
        case 'destroy':
          clean = false;
          conn.destroy();
          break;
        case 'error':
          clean = false;
          if (!conn.destroyed) injected.add(op.side);
          conn.destroy(new Error('injected by the property test'));
          break;
        case 'layerError': {
          clean = false;
          const layers = conn.layers;
          const target = layers.length > 0 ? conn.layer(layers[random.int(0, layers.length - 1)]!.name)! : conn.raw.stream;
          target.destroy(new Error('injected into a layer'));
          break;
        }
        case 'yield':
          await new Promise((resolve) => setImmediate(resolve));
          break;
      }
    }
    for (const s of ['client', 'server'] as const) {
      const conn = conns[s];
      if (!conn.destroyed && !conn.writableEnded) {
        await bounded(conn.close(), `${s}.close (final)`).catch((err) => failures.push([`${s}.close (final)`, err]));
      }
    }
    const got = {
      client: await bounded(reading.client, 'client reading to the end'),
      server: await bounded(reading.server, 'server reading to the end'),
    };
    await bounded(Promise.all([closedOf(client), closedOf(server)]), 'both connections closing');

    for (const [where, err] of [...failures, ...errorsEmitted]) expectCoded(err, where);
    for (const s of ['client', 'server'] as const) {
      const peer = s === 'client' ? 'server' : 'client';
      const expected = Buffer.concat(sent[peer]);
      if (got[s].error !== undefined) expectCoded(got[s].error, `${s} reading`);
      if (conns[s].errored && !injected.has(s)) expectCoded(conns[s].errored, `${s}.errored`);
      expect(errorEvents[s], `${s} emitted 'error' more than once`).toBeLessThanOrEqual(1);
      if (clean) {
        expect(failures, 'a clean case had failures').toEqual([]);
        expect(got[s].error, `${s} failed in a clean case`).toBeUndefined();
        expect(got[s].bytes.equals(expected), `${s} did not read exactly what ${peer} sent`).toBe(true);
      } else {
        // Whatever was delivered is a prefix of what was sent: nothing reordered or made up.
        expect(expected.subarray(0, got[s].bytes.length).equals(got[s].bytes), `${s} read bytes ${peer} never sent`).toBe(true);
      }
    }
    expect(escaped, 'an exception or rejection escaped').toEqual([]);
  } finally {
    client.destroy();
    server.destroy();
  }
}

describe('properties', () => {
  for (const stack of Object.keys(STACKS)) {
    const numRuns = stack.startsWith('tls') ? TLS_RUNS : RUNS;
    it(`${stack}: random writes both ways under random fragmentation arrive exactly`, async () => {
      await fc.assert(fc.asyncProperty(fc.nat(), writesOnly, (split, ops) => runCase(stack, split, ops)), { numRuns });
    });
    it(`${stack}: interleaved end, destroy and errors on both sides end in exact bytes or a coded error`, async () => {
      await fc.assert(fc.asyncProperty(fc.nat(), anyOps, (split, ops) => runCase(stack, split, ops)), { numRuns });
    });
  }
});

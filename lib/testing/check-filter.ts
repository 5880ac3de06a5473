import { type Connection, wrap } from '../connection.js';
import { duplexPair, type DuplexPairOptions } from '../duplex-pair.js';
import { WirestackError } from '../errors.js';
import type { Filter } from '../filter.js';
import type { Duplex } from '../stream.js';
import { Random } from './random.js';
import { afterPendingEvents } from '../runtime.js';
import { sha256 } from './sha256.js';
import { tcpPair } from './tcp-pair.js';

/** The two stacks under test: what the client end and the server end apply. */
export interface FilterPair {
  /** The filter, or filters lowest first, the client end applies. */
  client: Filter | readonly Filter[];
  /** The filter, or filters lowest first, the server end applies. */
  server: Filter | readonly Filter[];
}

/**
 * Makes a fresh pair of filters (or stacks) for one check. Called once per
 * check, so filters that keep per-use state may be made anew each time.
 */
export type MakePair = () => FilterPair | Promise<FilterPair>;

/** Options for {@link checkFilter} and {@link filterChecks}. */
export interface CheckOptions {
  /** Seed for every random choice (default: random, printed on failure). */
  seed?: number;
  /** The raw connection under the stacks (default `'memory'`, a {@link duplexPair}). */
  transport?: 'memory' | 'tcp';
  /** Bytes each way in the large SHA-256 transfer (default 16 MiB). */
  bigTransferBytes?: number;
  /** Bytes each way in the fragmented round trips (default 1 MiB). */
  roundTripBytes?: number;
  /**
   * Most bytes a writer may get accepted while nobody reads the other end
   * (default 4 MiB over memory, 32 MiB over TCP, whose kernel buffers count too).
   */
  memoryBound?: number;
  /** Milliseconds each check may take (default 20 000). */
  timeout?: number;
  /** Host name the client end is told it connected to (default `'localhost'`, for TLS). */
  host?: string;
}

/** One property of the conformance suite, runnable on its own. */
export interface FilterCheck {
  /** A short name, e.g. `'half-close-client-first'`. */
  readonly name: string;
  /** What the check proves, in one sentence. */
  readonly property: string;
  /** Runs the check; rejects with a {@link ConformanceError} when the property does not hold. */
  run(): Promise<void>;
}

/** Thrown when a property does not hold; names the property and the seed. */
export class ConformanceError extends Error {
  /** Always `'ConformanceError'`. */
  override name = 'ConformanceError';
  /**
   * @param check - the name of the check that failed ({@link FilterCheck.name})
   * @param seed - the seed that reproduces the failure
   */
  constructor(readonly check: string, readonly seed: number, detail: string, options?: { cause?: unknown }) {
    super(`checkFilter: "${check}" failed (seed ${seed}): ${detail}`, options);
  }
}

/**
 * The conformance suite as separate checks, one per property, so a test
 * runner can report each:
 *
 * @example
 * ```ts
 * for (const check of filterChecks(() => ({ client: myFilter(), server: myFilter() }))) {
 *   it(check.name, () => check.run());
 * }
 * ```
 */
export function filterChecks(makePair: MakePair, options: CheckOptions = {}): FilterCheck[] {
  const seed = options.seed ?? (Math.random() * 2 ** 32) >>> 0;
  const settings: Settings = {
    seed,
    transport: options.transport ?? 'memory',
    bigTransferBytes: options.bigTransferBytes ?? 16 * 1024 * 1024,
    roundTripBytes: options.roundTripBytes ?? 1024 * 1024,
    memoryBound: options.memoryBound ?? (options.transport === 'tcp' ? 32 : 4) * 1024 * 1024,
    timeout: options.timeout ?? 20_000,
    host: options.host ?? 'localhost',
  };
  return PROPERTIES.map(({ name, property, body }) => ({
    name,
    property,
    run: () => runCheck(name, makePair, settings, body),
  }));
}

/**
 * Runs the whole conformance suite on a client/server pair of stacks and
 * rejects with a {@link ConformanceError} naming the first property that
 * failed and the seed that reproduces it. Any filter, ours or a user's, can
 * be checked this way.
 *
 * The caller provides `makePair`, which returns the client's and the
 * server's filters; the suite makes the raw connection (memory or TCP),
 * applies the stacks with roles `'client'` and `'server'`, and tells the
 * client it connected to `host` (so TLS filters verify `localhost`).
 *
 * @example
 * ```ts
 * await checkFilter(() => ({ client: tls.client({ ca }), server: tls.server({ cert, key }) }));
 * ```
 */
export async function checkFilter(makePair: MakePair, options: CheckOptions = {}): Promise<void> {
  for (const check of filterChecks(makePair, options)) await check.run();
}

// ── the properties ────────────────────────────────────────────────────────

interface Settings {
  readonly seed: number;
  readonly transport: 'memory' | 'tcp';
  readonly bigTransferBytes: number;
  readonly roundTripBytes: number;
  readonly memoryBound: number;
  readonly timeout: number;
  readonly host: string;
}

interface Ends {
  readonly client: Connection;
  readonly server: Connection;
  readonly clientRaw: Duplex;
  readonly serverRaw: Duplex;
  readonly random: Random;
  readonly settings: Settings;
}

interface Property {
  readonly name: string;
  readonly property: string;
  /** Raw-pair options (memory transport only), for fragmentation and lockstep. */
  readonly pair?: (random: Random) => DuplexPairOptions;
  readonly body: (ends: Ends, fail: (detail: string) => never) => Promise<void>;
}

const PROPERTIES: Property[] = [
  {
    name: 'round-trip-fragmented',
    property: 'bytes written in pieces of 1 B to 64 KiB, cut again at random below, arrive exactly, both ways at once',
    pair: (random) => ({ split: (chunk) => random.split(chunk, 1, 64 * 1024) }),
    async body(ends, fail) {
      const { client, server, random, settings } = ends;
      const up = random.bytes(settings.roundTripBytes);
      const down = random.bytes(settings.roundTripBytes);
      const [atServer, atClient] = await Promise.all([
        readAll(server, random),
        readAll(client, random),
        writeAll(client, up, random).then(() => client.close()),
        writeAll(server, down, random).then(() => server.close()),
      ]);
      expectSame(fail, 'client → server', up, atServer);
      expectSame(fail, 'server → client', down, atClient);
    },
  },
  {
    name: 'round-trip-lockstep',
    property: 'with a raw connection that buffers nothing, a request/response exchange completes (no layer waits for bytes it holds itself)',
    pair: () => ({ lockstep: true }),
    async body(ends, fail) {
      const { client, server, random } = ends;
      for (let round = 0; round < 20; round++) {
        const request = random.bytes(random.size(1, 4096));
        await client.send(request);
        const atServer = await server.receiveExactly(request.length);
        if (!atServer.equals(request)) fail(`round ${round}: the server read different bytes`);
        const reply = random.bytes(random.size(1, 4096));
        await server.send(reply);
        const atClient = await client.receiveExactly(reply.length);
        if (!atClient.equals(reply)) fail(`round ${round}: the client read different bytes`);
      }
      await Promise.all([client.close(), server.close()]);
      await expectEnd(fail, client, 'client');
      await expectEnd(fail, server, 'server');
    },
  },
  {
    name: 'half-close-client-first',
    property: "the client's end() reaches the server as 'end' while the server can still send, and its bytes still arrive",
    async body(ends, fail) {
      await halfClose(ends, ends.client, ends.server, fail);
    },
  },
  {
    name: 'half-close-server-first',
    property: "the server's end() reaches the client as 'end' while the client can still send, and its bytes still arrive",
    async body(ends, fail) {
      await halfClose(ends, ends.server, ends.client, fail);
    },
  },
  {
    name: 'paused-reader-bounds-memory',
    property: 'while nobody reads the server, the client can get only a bounded number of bytes accepted; all arrive once reading resumes',
    async body(ends, fail) {
      const { client, server, random, settings } = ends;
      const hash = sha256();
      let accepted = 0;
      // Write until the stack refuses more and stays full for 300 ms. Each
      // chunk is fresh: a repeated one would let a compressing filter with a
      // large window (brotli: 4 MiB) shrink it to a few bytes, so accepted
      // bytes would no longer measure the memory held.
      for (;;) {
        const chunk = random.bytes(64 * 1024);
        hash.update(chunk);
        accepted += chunk.length;
        if (accepted > settings.memoryBound + 2 * chunk.length) {
          fail(`more than ${settings.memoryBound} bytes were accepted with nobody reading (an unbounded queue)`);
        }
        if (!client.write(chunk)) {
          const drained = await Promise.race([
            new Promise<boolean>((resolve) => client.once('drain', () => resolve(true))),
            sleep(300).then(() => false),
          ]);
          if (!drained) break;
        }
      }
      client.end();
      const received = await readAll(server, random);
      if (received.bytes !== accepted || received.sha256 !== hash.digest()) {
        fail(`after reading resumed, ${received.bytes} of ${accepted} accepted bytes arrived${received.bytes === accepted ? ' but differed' : ''}`);
      }
      await server.close();
      await expectEnd(fail, client, 'client');
    },
  },
  {
    name: 'destroy-client',
    property: 'destroying the client mid-transfer closes every layer on both ends, with no error on the client and at most one coded error on the server',
    async body(ends, fail) {
      await destroyOne(ends, ends.client, ends.server, ends.clientRaw, ends.serverRaw, fail);
    },
  },
  {
    name: 'destroy-server',
    property: 'destroying the server mid-transfer closes every layer on both ends, with no error on the server and at most one coded error on the client',
    async body(ends, fail) {
      await destroyOne(ends, ends.server, ends.client, ends.serverRaw, ends.clientRaw, fail);
    },
  },
  {
    name: 'error-injected-below',
    property: 'an error in the raw connection reaches the application exactly once, as a coded error, and the whole stack closes on both ends',
    async body(ends, fail) {
      const { client, server, clientRaw, random } = ends;
      const clientErrors = countErrors(client);
      const serverErrors = countErrors(server);
      void readAll(server, random).catch(() => undefined);
      void readAll(client, random).catch(() => undefined);
      await client.send(random.bytes(1000)).catch(() => undefined);
      const injected = new WirestackError('ERR_WIRESTACK_FAULT', 'injected below the client stack', { layer: 'raw' });
      clientRaw.destroy(injected);
      await Promise.all([whenClosed(client), settle(server)]);
      if (clientErrors.length !== 1) fail(`the client saw ${clientErrors.length} errors, not 1`);
      const code = (clientErrors[0] as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('ERR_WIRESTACK_')) fail(`the client's error has code ${String(code)}, not ERR_WIRESTACK_…`);
      if (serverErrors.length > 1) fail(`the server saw ${serverErrors.length} errors`);
      expectCoded(fail, serverErrors, 'server');
      expectAllClosed(fail, ends);
    },
  },
  {
    name: 'writev-batches',
    property: 'a corked batch of many small writes arrives exactly, in order',
    async body(ends, fail) {
      const { client, server, random } = ends;
      const pieces: Buffer[] = [];
      for (let i = 0; i < 1000; i++) pieces.push(random.bytes(random.int(1, 100)));
      const reading = readAll(server, random);
      client.cork();
      for (const piece of pieces) client.write(piece);
      client.uncork();
      await client.close();
      expectSame(fail, 'batch', Buffer.concat(pieces), await reading);
      await server.close();
      await expectEnd(fail, client, 'client');
    },
  },
  {
    name: 'empty-writes',
    property: 'empty writes are accepted and given no meaning: they deliver nothing and end nothing',
    async body(ends, fail) {
      const { client, server, random } = ends;
      const data = random.bytes(5000);
      const reading = readAll(server, random);
      await client.send(Buffer.alloc(0));
      await client.send(data.subarray(0, 2000));
      await client.send('');
      await client.send(Buffer.alloc(0));
      await client.send(data.subarray(2000));
      await client.send(new Uint8Array(0));
      await client.close();
      expectSame(fail, 'with empty writes between', data, await reading);
      await server.close();
      await expectEnd(fail, client, 'client');
    },
  },
  {
    name: 'big-transfer-sha256',
    property: 'a large transfer each way at once arrives intact (SHA-256 compared)',
    async body(ends, fail) {
      const { client, server, random, settings } = ends;
      const block = random.bytes(256 * 1024);
      const [atServer, atClient, sentUp, sentDown] = await Promise.all([
        readAll(server, random),
        readAll(client, random),
        writeStream(client, block, settings.bigTransferBytes).then(async (sent) => { await client.close(); return sent; }),
        writeStream(server, block, settings.bigTransferBytes).then(async (sent) => { await server.close(); return sent; }),
      ]);
      if (atServer.bytes !== sentUp.bytes || atServer.sha256 !== sentUp.sha256) fail(`client → server: ${atServer.bytes} of ${sentUp.bytes} bytes, hashes ${atServer.sha256 === sentUp.sha256 ? 'equal' : 'differ'}`);
      if (atClient.bytes !== sentDown.bytes || atClient.sha256 !== sentDown.sha256) fail(`server → client: ${atClient.bytes} of ${sentDown.bytes} bytes, hashes ${atClient.sha256 === sentDown.sha256 ? 'equal' : 'differ'}`);
    },
  },
];

// ── running one check ─────────────────────────────────────────────────────

async function runCheck(name: string, makePair: MakePair, settings: Settings, body: Property['body']): Promise<void> {
  const random = new Random(settings.seed ^ hashName(name));
  const property = PROPERTIES.find((p) => p.name === name)!;
  const fail = (detail: string): never => {
    throw new ConformanceError(name, settings.seed, `${detail} [transport ${settings.transport}]`);
  };
  const pair = await makePair();
  const raw = settings.transport === 'tcp' ? await tcpPair() : duplexPair(property.pair?.(random) ?? {});
  const [clientRaw, serverRaw] = raw;
  let client: Connection;
  let server: Connection;
  try {
    client = wrap(clientRaw, pair.client, { role: 'client', remote: { host: settings.host } });
    server = wrap(serverRaw, pair.server, { role: 'server', remote: {} });
  } catch (err) {
    clientRaw.destroy();
    serverRaw.destroy();
    throw new ConformanceError(name, settings.seed, `the stacks could not be made: ${String(err)}`, { cause: err });
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(name, settings.seed,
      `did not finish within ${settings.timeout} ms (a hang: a layer waits for something that never comes) [transport ${settings.transport}]`)), settings.timeout);
  });
  try {
    await Promise.race([body({ client, server, clientRaw, serverRaw, random, settings }, fail), deadline]);
  } catch (err) {
    if (err instanceof ConformanceError) throw err;
    throw new ConformanceError(name, settings.seed, `${describe(err)} [transport ${settings.transport}]`, { cause: err });
  } finally {
    clearTimeout(timer);
    client.destroy();
    server.destroy();
  }
}

// ── shared steps ──────────────────────────────────────────────────────────

interface Received {
  readonly bytes: number;
  readonly sha256: string;
}

/** Reads to the end with receive() of random sizes (1 B to 64 KiB). */
async function readAll(conn: Connection, random: Random): Promise<Received> {
  const hash = sha256();
  let bytes = 0;
  for (;;) {
    const chunk = await conn.receive(random.size(1, 64 * 1024));
    if (chunk === null) break;
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest() };
}

/** Writes `data` in random pieces (1 B to 64 KiB), honouring write()'s return value. */
async function writeAll(conn: Connection, data: Buffer, random: Random): Promise<void> {
  for (let i = 0; i < data.length;) {
    const n = random.size(1, 64 * 1024);
    if (!conn.write(data.subarray(i, i + n))) await drained(conn);
    i += n;
  }
}

/** Writes `block` repeatedly until `total` bytes, honouring backpressure; returns what was sent. */
async function writeStream(conn: Connection, block: Buffer, total: number): Promise<Received> {
  const hash = sha256();
  let sent = 0;
  while (sent < total) {
    const piece = block.subarray(0, Math.min(block.length, total - sent));
    hash.update(piece);
    sent += piece.length;
    if (!conn.write(piece)) await drained(conn);
  }
  return { bytes: sent, sha256: hash.digest() };
}

function drained(conn: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      conn.off('drain', done);
      conn.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      conn.off('drain', done);
      reject(conn.errored ?? new Error('closed while waiting for drain'));
    };
    conn.once('drain', done);
    conn.once('close', closed);
  });
}

async function halfClose(ends: Ends, first: Connection, second: Connection, fail: (detail: string) => never): Promise<void> {
  const { random } = ends;
  const before = random.bytes(20_000);
  const after = random.bytes(20_000);
  const firstEnds = countEvents(first, 'end');
  const secondEnds = countEvents(second, 'end');
  await first.send(before);
  await first.close();
  expectSame(fail, 'bytes before the half-close', before, await readAll(second, random));
  if (secondEnds.count !== 1) fail(`the reading side saw ${secondEnds.count} 'end' events, not 1`);
  if (first.destroyed) fail('the side that ended its writing was destroyed before the other side ended');
  // The direction still open keeps working.
  await second.send(after);
  await second.close();
  expectSame(fail, 'bytes sent after the other side ended', after, await readAll(first, random));
  if (firstEnds.count !== 1) fail(`the first side saw ${firstEnds.count} 'end' events, not 1`);
  await Promise.all([whenClosed(first), whenClosed(second)]);
  if (first.errored || second.errored) fail(`an error after a clean close: ${describe(first.errored ?? second.errored)}`);
  expectAllClosed(fail, ends);
}

async function destroyOne(ends: Ends, victim: Connection, other: Connection, victimRaw: Duplex, otherRaw: Duplex,
  fail: (detail: string) => never): Promise<void> {
  const { random } = ends;
  const victimErrors = countErrors(victim);
  const otherErrors = countErrors(other);
  void readAll(other, random).catch(() => undefined);
  void readAll(victim, random).catch(() => undefined);
  const block = random.bytes(64 * 1024);
  void writeStream(other, block, 4 * 1024 * 1024).catch(() => undefined);
  await victim.send(random.bytes(30_000)).catch(() => undefined);
  await sleep(5);
  victim.destroy();
  await Promise.all([whenClosed(victim), settle(other)]);
  if (victimErrors.length > 0) fail(`the destroyed side emitted an error: ${describe(victimErrors[0])}`);
  if (otherErrors.length > 1) fail(`the other side saw ${otherErrors.length} errors`);
  expectCoded(fail, otherErrors, 'the other side');
  if (!victimRaw.destroyed || !otherRaw.destroyed) fail('a raw connection was left open');
  expectAllClosed(fail, ends);
}

async function expectEnd(fail: (detail: string) => never, conn: Connection, who: string): Promise<void> {
  const rest = await conn.receive();
  if (rest !== null) fail(`the ${who} read ${rest.length} unexpected bytes before its end`);
  await whenClosed(conn);
  if (conn.errored) fail(`the ${who} failed after a clean close: ${describe(conn.errored)}`);
}

function expectSame(fail: (detail: string) => never, what: string, sent: Buffer, received: Received): void {
  const expected = sha256().update(sent).digest();
  if (received.bytes !== sent.length) fail(`${what}: ${received.bytes} bytes arrived, ${sent.length} were sent`);
  if (received.sha256 !== expected) fail(`${what}: the bytes arrived changed (SHA-256 differs)`);
}

function expectCoded(fail: (detail: string) => never, errors: Error[], who: string): void {
  for (const err of errors) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_WIRESTACK_')) fail(`${who} got an error without an ERR_WIRESTACK_ code: ${describe(err)}`);
  }
}

function expectAllClosed(fail: (detail: string) => never, ends: Ends): void {
  for (const [who, conn] of [['client', ends.client], ['server', ends.server]] as const) {
    for (const layer of conn.layers) {
      if (!layer.stream.destroyed) fail(`the ${who}'s ${layer.name} layer was not torn down`);
    }
  }
  if (!ends.clientRaw.destroyed || !ends.serverRaw.destroyed) fail('a raw connection was left open');
}

function countErrors(conn: Connection): Error[] {
  const errors: Error[] = [];
  conn.on('error', (err) => errors.push(err));
  return errors;
}

function countEvents(conn: Connection, event: string): { count: number } {
  const counter = { count: 0 };
  conn.on(event, () => counter.count++);
  return counter;
}

/**
 * Waits for a connection whose peer went away to finish: it either fails, or
 * reads the end (TCP delivers a FIN) and then, as an application would,
 * ends its own side.
 */
async function settle(conn: Connection): Promise<void> {
  if (!conn.closed && !conn.readableEnded) {
    await new Promise<void>((resolve) => {
      conn.once('close', () => resolve());
      conn.once('end', () => resolve());
    });
  }
  if (!conn.destroyed) conn.end();
  await whenClosed(conn);
}

function whenClosed(stream: Duplex): Promise<void> {
  // `closed` turns true before 'error' and 'close' are emitted (next tick);
  // wait past them so every event has been seen.
  if (stream.closed) return new Promise((resolve) => afterPendingEvents(resolve));
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`;
  }
  return String(err);
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

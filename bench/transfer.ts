// Moving bytes for the throughput rows: a bulk writer that honours
// backpressure, a counting reader, and loopback servers that hand over each
// accepted connection, for bare sockets and for wirestack alike.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import { type Connection, type Filter, listen } from './wirestack.js';
import { type Facts, type Sample, type Timing, quiesce, startTiming, timed } from './harness.js';
import type { Variant } from './isolated.js';

// What the throughput rows send by default: 64 KiB of random bytes, small
// enough to stay in the CPU's cache as a user's one reused buffer does, so
// that reading the source costs no row anything the mechanism under test
// does not.
const randomChunk = randomBytes(64 * 1024);

/**
 * Writes `bytes` to `writer` in writes of `writeSize` bytes, waiting for
 * `'drain'` whenever `write()` says so, and resolves with the wall and CPU
 * seconds until `reader` has received every byte. The writes are slices of
 * `source` (random unless given, at least `writeSize` long) at an offset
 * that slides with each write. With `end`, the writer is ended after the
 * last write (for writers that hold bytes until then).
 */
export function bulk(writer: Writable, reader: Readable, bytes: number, writeSize: number, source: Buffer = randomChunk, end = false): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const timing = startTiming();
    let received = 0;
    let sent = 0;
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received >= bytes) {
        cleanup();
        resolve(timing());
      }
    };
    const cleanup = (): void => {
      reader.off('data', onData);
      reader.off('error', fail);
      writer.off('error', fail);
      writer.off('drain', pump);
    };
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(writeSize, bytes - sent);
        const offset = sent % (source.length - writeSize + 1);
        sent += n;
        if (!writer.write(source.subarray(offset, offset + n))) {
          writer.once('drain', pump);
          return;
        }
      }
      if (end) writer.end();
    };
    reader.on('data', onData);
    reader.on('error', fail);
    writer.on('error', fail);
    pump();
  });
}

/** A loopback server that hands each accepted connection to whoever waits in `next()`. */
export interface Acceptor<T> {
  readonly port: number;
  /** The next accepted connection (call before or after the client connects). */
  next(): Promise<T>;
  close(): Promise<void>;
}

// Pairs accepted connections with waiters, whichever comes first.
class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(item: T) => void> = [];

  put(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  take(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A bare `net` server on 127.0.0.1 (Nagle off, as wirestack's listener does). */
export async function netAcceptor(): Promise<Acceptor<net.Socket>> {
  const queue = new Queue<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => queue.put(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => queue.take(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A wirestack listener on 127.0.0.1 applying `filters` to each connection. */
export async function wirestackAcceptor(filters: Filter | readonly Filter[]): Promise<Acceptor<Connection>> {
  const queue = new Queue<Connection>();
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, (conn) => queue.put(conn));
  return {
    port: (listener.address() as { port: number }).port,
    next: () => queue.take(),
    close: () => listener.close({ drain: false }),
  };
}

/**
 * A bare TCP client socket on 127.0.0.1, connected. `writableHighWaterMark`
 * lets a bare-socket baseline buffer as much as the wirestack connection it
 * is compared with (64 KiB), so that rows compare mechanisms, not buffer sizes.
 */
export function netConnect(port: number, writableHighWaterMark?: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true,
      ...(writableHighWaterMark === undefined ? {} : { writableHighWaterMark }),
    } as net.NetConnectOpts);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Destroys each stream and waits until all have emitted `'close'`. A sample
 * is over, so the resets this causes at the other ends are expected: their
 * errors are ignored.
 */
export async function destroyAll(...streams: Array<{ destroy(): void; destroyed: boolean; once(event: 'close', cb: () => void): unknown; on(event: 'error', cb: () => void): unknown; closed?: boolean }>): Promise<void> {
  for (const s of streams) s.on('error', () => {});
  await Promise.all(streams.map((s) => new Promise<void>((resolve) => {
    if (s.closed) return resolve();
    s.once('close', () => resolve());
    s.destroy();
  })));
}

/** A connected pair of ends: what the client writes, the server reads. */
export interface Ends {
  readonly client: Writable & Readable;
  readonly server: Writable & Readable;
  /** Everything to destroy when the sample is over. */
  readonly all: ReadonlyArray<Duplex>;
  /** What the sample reports about these ends (e.g. the TLS path each took). */
  readonly facts?: Facts;
}

/** Makes a connected pair for one sample. */
export type EndsFactory = () => Promise<Ends>;

// One byte each way: both ends are connected (and TLS handshaken) before the clock starts.
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

/** A bulk-transfer sample over fresh ends: setup, handshake and teardown untimed, the transfer timed. */
export function bulkSample(make: EndsFactory, bytes: number, writeSize: number): Sample {
  return async () => {
    const ends = await make();
    try {
      await pingPong(ends);
      await quiesce();
      return timed(await bulk(ends.client, ends.server, bytes, writeSize), ends.facts);
    } finally {
      await destroyAll(...ends.all);
    }
  };
}

/** What every bulk variant is told: how much to move per sample, in writes of what size. */
export interface BulkArgs {
  readonly bytes: number;
  readonly writeSize: number;
  readonly [key: string]: unknown;
}

/** A variant whose samples are bulk transfers over ends from `ends`, closed with it. */
export async function bulkVariant(ends: Promise<{ make: EndsFactory; close(): Promise<void> }>, args: BulkArgs): Promise<Variant> {
  const { make, close } = await ends;
  return { sample: bulkSample(make, args.bytes, args.writeSize), close };
}

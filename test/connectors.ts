// What the connector tests share: HTTP servers fed by listen(), a plain GET,
// finding our code on a client's error, and the check that nothing is left open.
import http from 'node:http';
import https from 'node:https';
import { expect } from 'vitest';
import type net from 'node:net';
import { type Filter, type Listener, listen } from '../lib/index.js';

export interface ServedHttp {
  readonly server: http.Server;
  readonly listener: Listener;
  readonly port: number;
  close(): Promise<void>;
}

/** An `http.Server` fed the connections `listen()` accepts over `filters` (HTTPS with a TLS server filter). */
export async function serveHttp(filters: Filter[], handler: http.RequestListener): Promise<ServedHttp> {
  const server = http.createServer(handler);
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, (conn) => {
    server.emit('connection', conn);
  });
  const { port } = listener.address() as { port: number };
  return {
    server, listener, port,
    close: async () => {
      server.close();
      await listener.close({ drain: false });
    },
  };
}

/**
 * A listener over `filters` that answers any request with the start of a
 * 1000-byte response, then resets the connection (RST) mid-body.
 */
export async function resettingServer(filters: Filter[]): Promise<{ listener: Listener; port: number }> {
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, async (conn) => {
    await conn.receive();
    await conn.send('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npart of the body');
    await new Promise((resolve) => setTimeout(resolve, 20));
    (conn.raw.stream as net.Socket).resetAndDestroy();
  });
  listener.on('connectionError', () => {});
  const { port } = listener.address() as { port: number };
  return { listener, port };
}

/** A port on 127.0.0.1 that nothing listens on (it did a moment ago): connections to it are refused. */
export async function refusingPort(): Promise<number> {
  const closed = await listen({ host: '127.0.0.1', port: 0 }, [], () => {});
  const { port } = closed.address() as { port: number };
  await closed.close();
  return port;
}

export interface Got {
  readonly status: number;
  readonly body: string;
  readonly socket: unknown;
}

/** One GET with Node's own client; rejects with the request's (or the response's) 'error'. */
export function get(options: https.RequestOptions, secure = false): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(options, (res) => {
      // Taken now: the agent detaches the socket from the response once it is free.
      const socket = res.socket;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), socket }));
    });
    req.on('error', reject);
  });
}

/** The wirestack code a client's error carries: its own `code`, or its `cause`'s (fetch wraps). */
export function wirestackCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && e.code.startsWith('ERR_WIRESTACK_')) return e.code;
  }
  return undefined;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; cause?: unknown };
  }
  throw new Error('expected a failure, got a result');
}

// Resources that hold a process open and that a connector could leave behind.
const WATCHED = new Set(['TCPSocketWrap', 'TCPWRAP', 'Timeout', 'TLSWRAP', 'PipeWrap']);

/** Counts of the watched resources now; give them to {@link expectNothingLeft} later. */
export function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/**
 * Waits (up to 5 s) until no more sockets or timers are open than at
 * `before`. It polls with timers that have fired by the time it looks
 * (vi.waitFor's own would be counted).
 */
export async function expectNothingLeft(before: Map<string, number>): Promise<void> {
  const excess = (): Array<{ kind: string; count: number }> =>
    [...openResources()].filter(([kind, count]) => count > (before.get(kind) ?? 0)).map(([kind, count]) => ({ kind, count }));
  const deadline = Date.now() + 5_000;
  while (excess().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(excess()).toEqual([]);
}

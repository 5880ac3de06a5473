import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'vitest';
import { type Connection, type Filter, type TlsVersion, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

/**
 * Whether this run lets the TLS layer use Node's private APIs
 * (`npm run test:no-internals` runs the TLS tests again with
 * `WIRESTACK_NODE_INTERNALS=0`). Without them no server and no
 * truncation-detecting client takes the native path.
 */
export const nodeInternals = process.env.WIRESTACK_NODE_INTERNALS !== '0';

/** Resolves when `stream` has emitted 'close'. */
export function whenClosed(stream: Duplex): Promise<void> {
  // `closed` turns true before 'error' and 'close' are emitted (next tick);
  // wait past them so every event has been seen.
  if (stream.closed) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Reads a stream to its end; returns the bytes' count and SHA-256. */
export async function drain(stream: AsyncIterable<Buffer>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One end of the TLS pair that tests stack other filters around: wirestack's
 * own TLS filter with the test PKI, client verifying `localhost`.
 */
export function tlsFilter(role: 'client' | 'server', options: { maxVersion?: TlsVersion } = {}): Filter {
  const certs = makeCertificates();
  return role === 'client'
    ? tls.client({ ca: certs.ca.cert, servername: 'localhost', ...options })
    : tls.server({ cert: certs.server.cert, key: certs.server.key, ...options });
}

// A full garbage collection on demand, without --expose-gc on the command line
// (as jest's leak detector does it): the flag, then V8's gc() from a fresh context.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/**
 * Bytes the process holds live in the JS heap and in buffers (heapUsed +
 * external, which counts ArrayBuffers), after garbage collection. Unlike RSS
 * or a plain sample, this leaves out garbage not yet collected, whose amount
 * depends on the Node version and the load (up to 100 MiB in the 1 GiB test
 * on Node 24), so a bound on it can be tight.
 */
export async function liveBytes(): Promise<number> {
  collectGarbage();
  // Buffers whose release one collection starts are freed after a turn of
  // the event loop (measured: tens of MiB otherwise); a second one frees them.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** Half-closes a TLS pair both ways, client first: each end reads the other's end, and was told of it by a close_notify. */
export async function closeBothWays(client: Connection, server: Connection): Promise<void> {
  await client.close();
  expect(await server.receive()).toBe(null);
  expect(server.tls!.peerClose).toBe('close_notify');
  await server.close();
  expect(await client.receive()).toBe(null);
  expect(client.tls!.peerClose).toBe('close_notify');
}

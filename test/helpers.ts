import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';

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

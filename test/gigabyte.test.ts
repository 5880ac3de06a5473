import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Filter, connect, identity, listen } from '../lib/index.js';
import { Layer } from '../lib/layer.js';
import { liveBytes, sleep } from './helpers.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
// What the stack may hold while its reader stops: five layers' high-water
// marks both ways are about 1 MiB. Measured at every stop on Node 20, 22 and
// 24, with and without two busy loops on the machine's 2 cores: at most
// 1.0 MiB. An unbounded layer holds all that the writer got ahead by (the
// last test: 93 MiB of 96). RSS was the measure before; it counts garbage
// not yet collected, which reached 105 MiB on Node 24.
const HELD_BOUND = 16 * MiB;

interface Transfer {
  // Bytes received and the SHA-256 of each side.
  received: number;
  sentSha256: string;
  receivedSha256: string;
  // Live bytes (heap and buffers, after GC) above the start, at each stop of the reader.
  heldAtStops: number[];
}

/**
 * Sends `total` bytes from a client to a server over TCP, both through
 * `stack()`, with a reader that stops for a second after every `stopEvery`
 * bytes; while it is stopped (the writer held back, every buffer full),
 * measures what the process holds.
 */
async function transfer(stack: () => Filter[], total: number, stopEvery: number): Promise<Transfer> {
  const received = createHash('sha256');
  let receivedBytes = 0;
  let start = 0;
  const heldAtStops: number[] = [];
  let serverFinished!: () => void;
  let serverFailed!: (err: unknown) => void;
  const serverDone = new Promise<void>((resolve, reject) => {
    serverFinished = resolve;
    serverFailed = reject;
  });
  const listener = await listen({ host: '127.0.0.1', port: 0 }, stack(), async (conn) => {
    try {
      let nextStop = stopEvery;
      for (let chunk = await conn.receive(); chunk !== null; chunk = await conn.receive()) {
        received.update(chunk);
        receivedBytes += chunk.length;
        if (receivedBytes >= nextStop) {
          nextStop += stopEvery;
          await sleep(1000);
          heldAtStops.push((await liveBytes()) - start);
        }
      }
      await conn.close();
      serverFinished();
    } catch (err) {
      serverFailed(err);
    }
  });
  const conn = await connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port }, stack());
  start = await liveBytes();

  const block = randomBytes(CHUNK);
  const sent = createHash('sha256');
  for (let offset = 0; offset < total; offset += CHUNK) {
    // Each chunk differs (its offset is stamped in), so reordering would show.
    const chunk = Buffer.from(block);
    chunk.writeUInt32LE(offset / CHUNK, 0);
    sent.update(chunk);
    if (!conn.write(chunk)) await new Promise((r) => conn.once('drain', r));
  }
  await conn.close();
  await serverDone;
  expect(await conn.receive()).toBeNull();
  await listener.close();
  return { received: receivedBytes, sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), heldAtStops };
}

describe('1 GiB through 5 identity layers on TCP', () => {
  it('arrives intact with a reader that stops for a second at a time, holding < 16 MiB while it stops', async () => {
    const result = await transfer(() => Array.from({ length: 5 }, () => identity()), 1024 * MiB, 256 * MiB);
    expect(result.received).toBe(1024 * MiB);
    expect(result.receivedSha256).toBe(result.sentSha256);
    expect(result.heldAtStops).toHaveLength(4);
    for (const held of result.heldAtStops) expect(held).toBeLessThan(HELD_BOUND);
  }, 120_000);

  // Calls every write back at once and passes it on regardless: the bytes
  // pile up in the stream below, an unbounded queue.
  class Unbounded extends Layer {
    protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
      this.writeDown(chunks);
      done();
    }
  }
  const unbounded: Filter = { name: 'unbounded', attach: (lower) => new Unbounded(lower, { name: 'unbounded' }) };

  it('the measure catches a layer that ignores backpressure', async () => {
    const result = await transfer(() => [...Array.from({ length: 4 }, () => identity()), unbounded], 96 * MiB, 32 * MiB);
    expect(result.receivedSha256).toBe(result.sentSha256);
    expect(result.heldAtStops[0]).toBeGreaterThan(HELD_BOUND);
  }, 60_000);
});

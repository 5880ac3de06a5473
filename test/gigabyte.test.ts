import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect, identity, listen } from '../lib/index.js';
import { sleep } from './helpers.js';

const TOTAL = 1024 * 1024 * 1024;
const CHUNK = 64 * 1024;

describe('1 GiB through 5 identity layers on TCP', () => {
  it('arrives intact with a reader that stops for a second at a time, and RSS grows < 64 MiB', async () => {
    const received = createHash('sha256');
    let receivedBytes = 0;
    const serverDone = new Promise<void>((resolve, reject) => {
      void listen({ host: '127.0.0.1', port: 0 }, Array.from({ length: 5 }, () => identity()), async (conn) => {
        try {
          let nextPause = 256 * 1024 * 1024;
          for (;;) {
            const chunk = await conn.receive();
            if (chunk === null) break;
            received.update(chunk);
            receivedBytes += chunk.length;
            if (receivedBytes >= nextPause) {
              nextPause += 256 * 1024 * 1024;
              await sleep(1000);
            }
          }
          await conn.close();
          resolve();
        } catch (err) {
          reject(err);
        }
      }).then((listener) => { started(listener); }, reject);
    });
    let started!: (listener: Awaited<ReturnType<typeof listen>>) => void;
    const listener = await new Promise<Awaited<ReturnType<typeof listen>>>((resolve) => { started = resolve; });
    const conn = await connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port },
      Array.from({ length: 5 }, () => identity()));

    global.gc?.();
    const rssAtStart = process.memoryUsage().rss;
    let rssPeak = rssAtStart;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 100);

    const block = randomBytes(CHUNK);
    const sent = createHash('sha256');
    for (let offset = 0; offset < TOTAL; offset += CHUNK) {
      // Each chunk differs (its offset is stamped in), so reordering would show.
      const chunk = Buffer.from(block);
      chunk.writeUInt32LE(offset / CHUNK, 0);
      sent.update(chunk);
      if (!conn.write(chunk)) await new Promise((r) => conn.once('drain', r));
    }
    await conn.close();
    await serverDone;
    expect(await conn.receive()).toBeNull();
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    await listener.close();

    expect(receivedBytes).toBe(TOTAL);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    expect(rssPeak - rssAtStart).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});

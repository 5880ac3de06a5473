import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MeterLayer, deflate, duplexPair, meter, throughput, wrap, type Connection } from '../lib/index.js';

async function readAll(conn: Connection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let chunk = await conn.receive(); chunk !== null; chunk = await conn.receive()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('meter', () => {
  it('counts bytes and chunks each way, in conn.layers, and changes no byte', async () => {
    const [a, b] = duplexPair({ maxChunkSize: 1000 });
    const client = wrap(a, [meter()], { role: 'client' });
    const server = wrap(b, [], { role: 'server' });
    const up = randomBytes(10_000);
    const got = readAll(server);
    await client.send(up.subarray(0, 4000));
    await client.send(up.subarray(4000));
    await client.close();
    expect(createHash('sha256').update(await got).digest('hex')).toBe(createHash('sha256').update(up).digest('hex'));
    await server.send(Buffer.alloc(2500, 1));
    await server.close();
    expect(await readAll(client)).toHaveLength(2500);

    const [info] = client.layers;
    expect(info).toMatchObject({ name: 'meter', bytesOut: 10_000, chunksOut: 2, bytesIn: 2500, chunksIn: 3 });
    // One count, not two: the meter's reading, conn.layers and the layer's stats are the same numbers.
    const layer = client.layer('meter') as MeterLayer;
    expect(info!.stats).toBe(layer.stats);
    expect(layer.reading()).toMatchObject({ bytesOut: 10_000, chunksOut: 2, bytesIn: 2500, chunksIn: 3 });
  });

  it('reports throughput from the counts, its clock stopped at the close', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [meter({ name: 'wire' })], { role: 'client' });
    const server = wrap(b, [], { role: 'server' });
    const got = readAll(server);
    await client.send(Buffer.alloc(1 << 20));
    await client.close();
    await got;
    await server.close();
    await readAll(client);
    if (!client.closed) await new Promise((resolve) => client.once('close', resolve));
    const layer = client.layer('wire') as MeterLayer;
    const first = layer.reading();
    expect(first.bytesOutPerSecond).toBeCloseTo(first.bytesOut / (first.elapsedMs / 1000), 6);
    expect(first.bytesOutPerSecond).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(layer.reading()).toEqual(first);
    // The helper works on any layer's stats, from conn.layers.
    const stats = client.layers[0]!.stats!;
    const until = stats.startedAt + 2000;
    const averaged = throughput(stats, until);
    expect(averaged.elapsedMs).toBeCloseTo(2000, 6);
    expect(averaged.bytesOutPerSecond).toBeCloseTo(stats.bytesOut / 2, 3);
    expect(averaged.bytesInPerSecond).toBeCloseTo(stats.bytesIn / 2, 3);
  });

  it('measures what it sits on: compressed bytes below deflate, plaintext above', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [meter({ name: 'wire' }), deflate(), meter({ name: 'app' })], { role: 'client' });
    const server = wrap(b, [deflate()], { role: 'server' });
    const text = Buffer.from('the same words again and again; '.repeat(2000));
    const got = readAll(server);
    await client.send(text);
    await client.close();
    expect((await got).equals(text)).toBe(true);
    const byName = Object.fromEntries(client.layers.map((layer) => [layer.name, layer]));
    expect(byName['app']!.bytesOut).toBe(text.length);
    expect(byName['wire']!.bytesOut).toBeLessThan(text.length / 20);
    server.destroy();
  });

  it('can be removed from a live connection with pop()', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [meter()], { role: 'client' });
    const server = wrap(b, [], { role: 'server' });
    await client.send('counted');
    await server.receiveExactly(7);
    const layer = client.layer('meter') as MeterLayer;
    await client.pop();
    expect(client.layers).toEqual([]);
    await client.send('not counted');
    expect((await server.receiveExactly(11)).toString()).toBe('not counted');
    expect(layer.stats.bytesOut).toBe(7);
    client.destroy();
  });
});

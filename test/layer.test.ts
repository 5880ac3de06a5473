import { describe, expect, it } from 'vitest';
import { type Filter, Layer, WirestackError, duplexPair, identity, wrap } from '../lib/index.js';
import { sleep, whenClosed } from './helpers.js';

// Counts how often its teardown runs and with which error.
class Watched extends Layer {
  teardowns: Array<Error | null> = [];
  protected override teardown(error: Error | null): void {
    this.teardowns.push(error);
  }
}
function watched(name: string, made: Watched[]): Filter {
  return { name, attach: (lower) => { const layer = new Watched(lower, { name }); made.push(layer); return layer; } };
}

describe('Layer', () => {
  it('runs each teardown exactly once on a clean close', async () => {
    const made: Watched[] = [];
    const [a, b] = duplexPair();
    const client = wrap(a, [watched('w1', made), watched('w2', made)]);
    const server = wrap(b, [], { role: 'server' });
    await client.send('x');
    await client.close();
    expect((await server.receive())!.toString()).toBe('x');
    expect(await server.receive()).toBeNull();
    await server.close();
    expect(await client.receive()).toBeNull();
    await whenClosed(client);
    expect(made.map((l) => l.teardowns)).toEqual([[null], [null]]);
  });

  it('tears the whole stack down when a middle layer is destroyed, and runs each teardown once', async () => {
    const made: Watched[] = [];
    const [a, b] = duplexPair();
    const client = wrap(a, [watched('low', made), watched('mid', made), watched('high', made)]);
    const server = wrap(b, [], { role: 'server' });
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    made[1]!.destroy();
    made[1]!.destroy();
    await Promise.all([whenClosed(client), whenClosed(a)]);
    expect(made.every((l) => l.destroyed)).toBe(true);
    expect(made.map((l) => l.teardowns.length)).toEqual([1, 1, 1]);
    // The layers above the destroyed one did not ask for it: they report it, once.
    expect(errors.map((e) => [(e as WirestackError).code, (e as WirestackError).layer])).toEqual([['ERR_WIRESTACK_PREMATURE_CLOSE', 'mid']]);
    expect(a.destroyed).toBe(true);
    // The peer of a reset memory connection sees a transport error.
    await whenClosed(server);
    expect((server.errored as WirestackError).code).toBe('ERR_WIRESTACK_TRANSPORT');
  });

  it('reports an error raised in a layer once, coded, with the layer\'s name', async () => {
    const made: Watched[] = [];
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const client = wrap(a, [identity('below'), watched('broken', made), identity('above')]);
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    made[0]!.destroy(new Error('disk on fire'));
    await whenClosed(client);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(WirestackError);
    expect((errors[0] as WirestackError).code).toBe('ERR_WIRESTACK_LAYER');
    expect((errors[0] as WirestackError).layer).toBe('broken');
    expect((errors[0] as WirestackError).cause).toBeInstanceOf(Error);
    expect(made[0]!.teardowns).toHaveLength(1);
    expect(made[0]!.teardowns[0]).toBe(errors[0]);
    expect(a.destroyed).toBe(true);
  });

  it('names an error from the raw stream "raw" and keeps its system code as the cause', async () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const client = wrap(a, [identity()]);
    a.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await whenClosed(client);
    const err = client.errored as WirestackError;
    expect(err.code).toBe('ERR_WIRESTACK_TRANSPORT');
    expect(err.layer).toBe('raw');
    expect((err.cause as { code: string }).code).toBe('ECONNRESET');
  });

  it('passes a corked batch below as one writev batch', async () => {
    const [a, b] = duplexPair();
    const batches: number[] = [];
    const originalWritev = a._writev!.bind(a);
    a._writev = (chunks, callback) => {
      batches.push(chunks.length);
      originalWritev(chunks, callback);
    };
    const client = wrap(a, [identity(), identity()]);
    const server = wrap(b, [], { role: 'server' });
    const pending = server.receiveExactly(30);
    // The first write goes straight through; the next ones queue behind it
    // and must reach the raw stream as one batch, not one by one.
    client.cork();
    for (let i = 0; i < 30; i++) client.write(String.fromCharCode(65 + (i % 26)));
    client.uncork();
    expect((await pending).toString()).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZABCD');
    expect(batches.length).toBeGreaterThan(0);
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });

  it('pauses the raw stream when the application stops reading, and resumes it', async () => {
    const [a, b] = duplexPair({ highWaterMark: 16 * 1024 });
    const client = wrap(a, [identity(), identity()]);
    const server = wrap(b, [], { role: 'server' });
    const chunk = Buffer.alloc(16 * 1024, 1);
    let accepted = 0;
    while (server.write(chunk)) accepted += chunk.length;
    accepted += chunk.length;
    // Nothing reads the client: the server fills everything and stays full.
    for (let i = 0; i < 200 && accepted < 8 << 20; i++) {
      const drained = await Promise.race([new Promise<boolean>((r) => server.once('drain', () => r(true))), sleep(50).then(() => false)]);
      if (!drained) break;
      while (server.write(chunk)) accepted += chunk.length;
      accepted += chunk.length;
    }
    expect(accepted).toBeLessThan(2 << 20);
    expect(b.writableNeedDrain || server.writableNeedDrain).toBe(true);
    expect(a.isPaused()).toBe(true);
    server.end();
    let got = 0;
    for await (const c of client) got += (c as Buffer).length;
    expect(got).toBe(accepted);
  });

  it('gives zero-length chunks from below no meaning', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [identity()]);
    const seen: number[] = [];
    client.on('data', (c: Buffer) => seen.push(c.length));
    b.write(Buffer.alloc(0));
    b.write('abc');
    b.end();
    await new Promise((r) => client.once('end', r));
    expect(seen).toEqual([3]);
  });
});

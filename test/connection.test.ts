import { pipeline } from 'node:stream/promises';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Connection, type Filter, Layer, WirestackError, duplexPair, identity, wrap } from '../lib/index.js';
import { whenClosed } from './helpers.js';

function pair(client: Filter[] = [], server: Filter[] = []): { client: Connection; server: Connection } {
  const [a, b] = duplexPair();
  return { client: wrap(a, client, { role: 'client' }), server: wrap(b, server, { role: 'server' }) };
}

describe('Connection promise API', () => {
  it('receive(max) returns at most max bytes and keeps the rest for the next call', async () => {
    const { client, server } = pair([identity()], [identity()]);
    await client.send('hello world');
    expect((await server.receive(5))!.toString()).toBe('hello');
    expect((await server.receive(1))!.toString()).toBe(' ');
    expect((await server.receive())!.toString()).toBe('world');
    await client.close();
    expect(await server.receive()).toBeNull();
    expect(await server.receive()).toBeNull();
  });

  it('receiveExactly(n) waits for n bytes across chunks', async () => {
    const { client, server } = pair();
    const pending = server.receiveExactly(6);
    await client.send('ab');
    await client.send('cd');
    await client.send('efgh');
    expect((await pending).toString()).toBe('abcdef');
    expect((await server.receive())!.toString()).toBe('gh');
  });

  it('receiveExactly rejects with ERR_WIRESTACK_EOF on early end, with the bytes that came', async () => {
    const { client, server } = pair();
    await client.send('abc');
    await client.close();
    const err = await server.receiveExactly(10).catch((e: unknown) => e) as WirestackError;
    expect(err).toBeInstanceOf(WirestackError);
    expect(err.code).toBe('ERR_WIRESTACK_EOF');
    expect(err.partial!.toString()).toBe('abc');
  });

  it('refuses overlapping receives with ERR_WIRESTACK_BUSY', async () => {
    const { client, server } = pair();
    const first = server.receive();
    await expect(server.receive()).rejects.toMatchObject({ code: 'ERR_WIRESTACK_BUSY' });
    await client.send('x');
    expect((await first)!.toString()).toBe('x');
  });

  it('rejects receive() with the stack\'s error', async () => {
    const { client, server } = pair([identity()]);
    const pending = client.receive();
    server.destroy();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
    await expect(client.send('late')).rejects.toMatchObject({ code: 'ERR_WIRESTACK_TRANSPORT' });
  });

  it('send() after close() rejects with ERR_WIRESTACK_CLOSED', async () => {
    const { client } = pair();
    await client.close();
    await expect(client.send('x')).rejects.toMatchObject({ code: 'ERR_WIRESTACK_CLOSED' });
  });

  it('close() resolves when the end reached the raw stream, and the peer may keep sending', async () => {
    const { client, server } = pair([identity(), identity()]);
    const raw = client.raw.stream;
    await client.close();
    expect(raw.writableFinished).toBe(true);
    expect(await server.receive()).toBeNull();
    await server.send('still here');
    expect((await client.receive())!.toString()).toBe('still here');
    await server.close();
    expect(await client.receive()).toBeNull();
    await whenClosed(client);
    expect(client.closed).toBe(true);
    expect(client.errored).toBeNull();
  });

  it('disposes with await using', async () => {
    const { client, server } = pair([identity()]);
    {
      await using conn = client;
      await conn.send('bye');
    }
    expect(client.destroyed).toBe(true);
    expect((await server.receive())!.toString()).toBe('bye');
  });

  it('fixes role at creation and lists layers with byte counts', async () => {
    const { client, server } = pair([identity('a'), identity('b')], [identity('c')]);
    expect(client.role).toBe('client');
    expect(server.role).toBe('server');
    await client.send(Buffer.alloc(1000));
    await server.receiveExactly(1000);
    expect(client.layers.map((l) => [l.name, l.bytesOut, l.state])).toEqual([['a', 1000, 'open'], ['b', 1000, 'open']]);
    expect(server.layers.map((l) => [l.name, l.bytesIn])).toEqual([['c', 1000]]);
    expect(client.raw.fd).toBeUndefined();
  });
});

describe('Connection as a Duplex', () => {
  it('works with pipeline and for await', async () => {
    const { client, server } = pair([identity()], [identity()]);
    const sent = Buffer.alloc(300_000, 7);
    const echo = (async () => {
      for await (const chunk of server) server.write(chunk);
      server.end();
    })();
    const received: Buffer[] = [];
    const collector = new PassThrough();
    collector.on('data', (c: Buffer) => received.push(c));
    await Promise.all([
      pipeline(Readable.from([sent.subarray(0, 100_000), sent.subarray(100_000)]), client),
      pipeline(client, collector),
      echo,
    ]);
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it('works with .pipe', async () => {
    const { client, server } = pair();
    const out = new PassThrough();
    server.pipe(out);
    client.end('piped');
    const chunks: Buffer[] = [];
    for await (const c of out) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('piped');
  });

  it('emits one error event, coded, and a close', async () => {
    const { client, server } = pair([identity()]);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    server.destroy();
    await whenClosed(client);
    expect(errors).toHaveLength(1);
    expect((errors[0] as WirestackError).code).toBe('ERR_WIRESTACK_TRANSPORT');
  });
});

describe('push and pop', () => {
  it('push hands bytes received but not read to the new layer first', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a);
    const server = wrap(b, [], { role: 'server' });
    // A layer that upper-cases what it reads, to show which bytes it saw.
    class Upper extends Layer {
      protected override transformIn(chunk: Buffer): void {
        this.pushUp(Buffer.from(chunk.toString().toUpperCase()));
      }
    }
    const upper: Filter = { name: 'upper', attach: (lower) => new Upper(lower, { name: 'upper' }) };
    await server.send('OK\nafter the upgrade');
    expect((await client.receive(3))!.toString()).toBe('OK\n');
    await client.push(upper);
    expect(client.layers.map((l) => l.name)).toEqual(['upper']);
    expect((await client.receiveExactly(17)).toString()).toBe('AFTER THE UPGRADE');
    await server.send('more');
    expect((await client.receive())!.toString()).toBe('MORE');
  });

  it('pop removes a removable layer and the connection goes on below it', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [identity('keep')]);
    const server = wrap(b, [], { role: 'server' });
    await client.push(identity('temp'));
    expect(client.layers.map((l) => l.name)).toEqual(['keep', 'temp']);
    await server.send('one');
    expect((await client.receive())!.toString()).toBe('one');
    await server.send('two');
    await client.pop();
    expect(client.layers.map((l) => l.name)).toEqual(['keep']);
    await server.send('three');
    expect((await client.receiveExactly(8)).toString()).toBe('twothree');
    await client.send('back');
    expect((await server.receive())!.toString()).toBe('back');
  });

  it('pop rejects with ERR_WIRESTACK_NOT_REMOVABLE for a layer that cannot be removed', async () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const client = wrap(a, [{ name: 'fixed', attach: (lower) => new Layer(lower, { name: 'fixed' }) }]);
    await expect(client.pop()).rejects.toMatchObject({ code: 'ERR_WIRESTACK_NOT_REMOVABLE', layer: 'fixed' });
    const bare = wrap(duplexPair()[0]);
    await expect(bare.pop()).rejects.toMatchObject({ code: 'ERR_WIRESTACK_NOT_REMOVABLE' });
  });

  it('a filter that throws while being applied leaves nothing open', () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const broken: Filter = { name: 'broken', attach: () => { throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', 'bad option'); } };
    expect(() => wrap(a, [identity(), broken])).toThrow(/bad option/);
    expect(a.destroyed).toBe(true);
  });
});

describe('destroy with an error', () => {
  it('keeps the same coded error in errored, the error event and rejected promises', async () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const conn = wrap(a, [identity()]);
    const emitted: Error[] = [];
    conn.on('error', (err) => emitted.push(err));
    const pending = conn.receive();
    conn.destroy(new Error('gave up'));
    const rejected = await pending.catch((err: unknown) => err);
    expect(conn.errored).toBeInstanceOf(WirestackError);
    expect((conn.errored as WirestackError).code).toBe('ERR_WIRESTACK_LAYER');
    expect((conn.errored as WirestackError).layer).toBe('connection');
    expect(emitted).toEqual([conn.errored]);
    expect(rejected).toBe(conn.errored);
  });
});

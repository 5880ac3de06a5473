// The pipeline under the layers: layers are plain objects, the raw stream and
// the connection are the only streams, and a filter that returns a Duplex of
// its own is still wired in (the layers below it end in a view).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Filter, Layer, WirestackError, duplexPair, identity, wrap } from '../lib/index.js';
import { filterChecks } from '../lib/testing/index.js';
import { whenClosed } from './helpers.js';

const xor = (chunk: Buffer): Buffer => Buffer.from(chunk.map((b) => b ^ 0x5a));

// A filter written the way a user would without Layer: a Duplex of its own
// that reads and writes the stream it is given, with backpressure and half-close.
function xorStream(name = 'xor'): Filter {
  return {
    name,
    attach(lower) {
      const upper = new Duplex({
        allowHalfOpen: true,
        read() {
          lower.resume();
        },
        write(chunk: Buffer, _encoding, callback) {
          if (lower.write(xor(chunk))) callback();
          else lower.once('drain', () => callback());
        },
        final(callback) {
          lower.end(() => callback());
        },
        destroy(err, callback) {
          lower.destroy();
          callback(err);
        },
      });
      lower.on('data', (chunk: Buffer) => {
        if (!upper.push(xor(chunk))) lower.pause();
      });
      lower.on('end', () => upper.push(null));
      lower.on('error', (err) => upper.destroy(err));
      return upper;
    },
  };
}

// A filter that makes its own connection over the stream it is given: a
// Connection is a Duplex like any other a filter may return.
function nestedConnection(): Filter {
  return { name: 'nested', attach: (lower) => wrap(lower, [identity('inner')]) };
}

const stacks: Array<[string, () => Filter[]]> = [
  ['a stream filter between layers', () => [identity('below'), xorStream(), identity('above')]],
  ['a stream filter on the raw stream', () => [xorStream(), identity()]],
  ['two stream filters, one above the other', () => [xorStream('x1'), identity(), xorStream('x2')]],
  ['a filter that wraps its stream in a connection of its own', () => [nestedConnection(), identity('outer')]],
];

for (const [name, make] of stacks) {
  describe(`checkFilter: ${name}`, () => {
    for (const check of filterChecks(() => ({ client: make(), server: make() }), { seed: 20261130, bigTransferBytes: 4 << 20 })) {
      it(check.name, () => check.run());
    }
  });
}

describe('the pipeline', () => {
  it('keeps two streams for a stack of layers: the raw one and the connection', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [identity('one'), identity('two'), identity('three')]);
    const server = wrap(b, [], { role: 'server' });
    for (const info of client.layers) {
      expect(info.stream).toBeInstanceOf(Layer);
      expect(info.stream).not.toBeInstanceOf(Duplex);
    }
    await client.send('through three layers');
    expect((await server.receive())!.toString()).toBe('through three layers');
    expect(client.layers.map((l) => [l.name, l.bytesOut])).toEqual([['one', 20], ['two', 20], ['three', 20]]);
  });

  it('wires a stream filter in, and tears its stream down with the connection', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [identity('below'), xorStream(), identity('above')]);
    const server = wrap(b, [xorStream()], { role: 'server' });
    const streamLayer = client.layer('xor');
    expect(streamLayer).toBeInstanceOf(Duplex);
    await client.send('hello');
    expect((await server.receive())!.toString()).toBe('hello');
    client.destroy();
    await whenClosed(client);
    expect((streamLayer as Duplex).destroyed).toBe(true);
    expect(client.layers.every((l) => l.state === 'closed')).toBe(true);
    expect(a.destroyed).toBe(true);
  });

  it('hands an error of the raw stream under a connection a filter made to the outer connection, coded, once', async () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const client = wrap(a, [nestedConnection()]);
    const errors: WirestackError[] = [];
    client.on('error', (err: WirestackError) => errors.push(err));
    const server = wrap(b, [], { role: 'server' });
    await server.send('read through both');
    expect((await client.receive())!.toString()).toBe('read through both');
    a.destroy(new Error('boom on raw'));
    await whenClosed(client);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['ERR_WIRESTACK_LAYER', 'raw: boom on raw']]);
  });

  it('pops a layer that sits on a stream filter', async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [xorStream(), identity('top')]);
    const server = wrap(b, [xorStream()], { role: 'server' });
    await client.pop();
    expect(client.layers.map((l) => l.name)).toEqual(['xor']);
    await server.send('still there');
    expect((await client.receive())!.toString()).toBe('still there');
  });

  it('refuses a layer made outside a filter\'s attach(), with a coded error', () => {
    const [a] = duplexPair();
    expect(() => new Layer(a, { name: 'loose' })).toThrow(expect.objectContaining({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' }));
    expect(a.destroyed).toBe(false);
  });

  it('runs writes a layer makes while an earlier one is still below in order', async () => {
    // Three writes per batch from one layer while the stream below is full:
    // they queue in the layer below and reach the wire in order.
    class Triple extends Layer {
      protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
        for (const chunk of chunks) for (let i = 0; i < 3; i++) this.writeDown([chunk]);
        this.whenLowerDrains(done);
      }
    }
    const triple: Filter = { name: 'triple', attach: (lower) => new Triple(lower, { name: 'triple' }) };
    const [a, b] = duplexPair({ highWaterMark: 4 });
    const client = wrap(a, [identity(), triple]);
    const server = wrap(b, [], { role: 'server' });
    const sent = Promise.all(['ab', 'cd', 'ef'].map((s) => client.send(s)));
    const received = await server.receiveExactly(18);
    await sent;
    expect(received.toString()).toBe('ababab' + 'cdcdcd' + 'efefef');
  });

  it('reports a layer destroyed without an error as a premature close naming it, once', async () => {
    const [a, b] = duplexPair();
    b.on('error', () => {});
    const client = wrap(a, [identity('low'), identity('high')]);
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    (client.layer('low') as Layer).destroy();
    await whenClosed(client);
    expect(errors.map((e) => [(e as WirestackError).code, (e as WirestackError).layer])).toEqual([['ERR_WIRESTACK_PREMATURE_CLOSE', 'low']]);
  });
});

describe('two copies of wirestack in one process', () => {
  // The dual-package case: filters from the CommonJS build in a stack the ES
  // module build makes (or two versions side by side) still join one pipeline.
  it('runs layers made by the CommonJS build in a connection made by the ES module build', async () => {
    // The built package, loaded by URL and by require(): not the sources the test runner would give.
    const esm = await import(pathToFileURL(join(import.meta.dirname, '../dist/esm/index.js')).href) as typeof import('../lib/index.js');
    const cjs = createRequire(import.meta.url)('../dist/cjs/index.cjs') as typeof import('../lib/index.js');
    expect(cjs.Layer).not.toBe(esm.Layer);
    const [a, b] = esm.duplexPair();
    const client = esm.wrap(a, [cjs.identity('cjs-below'), esm.identity('esm'), cjs.deflate()]);
    const server = esm.wrap(b, [esm.identity(), esm.deflate()], { role: 'server' });
    const data = Buffer.alloc(256 * 1024, 'wirestack ');
    await client.send(data);
    await client.close();
    expect((await server.receiveExactly(data.length)).equals(data)).toBe(true);
    expect(await server.receive()).toBe(null);
    expect(client.layers.map((l) => [l.name, l.stream instanceof Duplex])).toEqual([['cjs-below', false], ['esm', false], ['deflate', false]]);
  });
});

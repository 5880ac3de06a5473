import { describe, expect, it } from 'vitest';
import { duplexPair } from '../lib/testing/index.js';
import { whenClosed } from './helpers.js';

describe('duplexPair', () => {
  it('carries bytes both ways, and end() is a FIN that leaves the other direction open', async () => {
    const [a, b] = duplexPair();
    a.end('ping');
    const got: Buffer[] = [];
    for await (const c of b.iterator({ destroyOnReturn: false })) got.push(c as Buffer);
    expect(Buffer.concat(got).toString()).toBe('ping');
    b.end('pong');
    const back: Buffer[] = [];
    for await (const c of a) back.push(c as Buffer);
    expect(Buffer.concat(back).toString()).toBe('pong');
  });

  it('delivers one byte at a time with maxChunkSize: 1', async () => {
    const [a, b] = duplexPair({ maxChunkSize: 1 });
    const sizes: number[] = [];
    b.on('data', (c: Buffer) => sizes.push(c.length));
    a.end('hello');
    await new Promise((r) => b.once('end', r));
    expect(sizes).toEqual([1, 1, 1, 1, 1]);
  });

  it('cuts writes as split says', async () => {
    const [a, b] = duplexPair({ split: (chunk) => [chunk.subarray(0, 2), chunk.subarray(2)] });
    const pieces: string[] = [];
    b.on('data', (c: Buffer) => pieces.push(c.toString()));
    a.end('abcdef');
    await new Promise((r) => b.once('end', r));
    expect(pieces).toEqual(['ab', 'cdef']);
  });

  it('holds a write until the reader has room (highWaterMark)', async () => {
    const [a, b] = duplexPair({ highWaterMark: 1024 });
    let completed = 0;
    a.write(Buffer.alloc(2048), () => completed++);
    a.write(Buffer.alloc(10), () => completed++);
    await new Promise((r) => setTimeout(r, 20));
    expect(completed).toBe(0);
    expect(b.readableLength).toBe(2048);
    b.read();
    await new Promise((r) => setTimeout(r, 20));
    expect(completed).toBe(2);
  });

  it('in lockstep, completes a write only once the reader has taken it', async () => {
    const [a, b] = duplexPair({ lockstep: true });
    let completed = false;
    a.write('x', () => { completed = true; });
    await new Promise((r) => setTimeout(r, 20));
    expect(completed).toBe(false);
    expect(b.read()!.toString()).toBe('x');
    await new Promise((r) => setTimeout(r, 20));
    expect(completed).toBe(true);
  });

  it('destroy before end resets the other end (ECONNRESET); after end, only its writes fail (EPIPE)', async () => {
    const [a, b] = duplexPair();
    const errors: string[] = [];
    b.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code!));
    a.destroy();
    await whenClosed(b);
    expect(errors).toEqual(['ECONNRESET']);

    const [c, d] = duplexPair();
    c.end();
    d.resume();
    await new Promise((r) => d.once('end', r));
    c.destroy();
    await whenClosed(c);
    const writeError = await new Promise<NodeJS.ErrnoException>((resolve) => {
      d.on('error', resolve);
      d.write('into the void');
    });
    expect(writeError.code).toBe('EPIPE');
  });
});

describe('duplexPair destroy', () => {
  it('fails a write the other end still held, instead of dropping its callback', async () => {
    const [a, b] = duplexPair({ highWaterMark: 16 });
    b.on('error', () => {});
    const result = new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => {
      a.on('error', () => {});
      a.write(Buffer.alloc(64), (err) => resolve(err));
    });
    a.destroy();
    expect((await result)?.code).toBe('EPIPE');
  });
});

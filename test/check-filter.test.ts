import { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Filter, Layer, fromTransforms, identity, stack } from '../lib/index.js';
import { ConformanceError, checkFilter, filterChecks } from '../lib/testing/index.js';

// A transform that flips every bit: encoding and decoding are the same step.
const flipBits = (): Transform => new Transform({
  transform(chunk: Buffer, _encoding, callback) {
    const out = Buffer.allocUnsafe(chunk.length);
    for (let i = 0; i < chunk.length; i++) out[i] = chunk[i]! ^ 0xff;
    callback(null, out);
  },
});
const flip = fromTransforms({ name: 'flip', outbound: flipBits, inbound: flipBits });
const passThrough = fromTransforms({
  name: 'pass',
  outbound: () => new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) }),
  inbound: () => new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) }),
});
const identities = (n: number): Filter[] => Array.from({ length: n }, (_, i) => identity(`id${i}`));

const subjects: Array<[string, () => { client: Filter | Filter[]; server: Filter | Filter[] }]> = [
  ['identity', () => ({ client: identity(), server: identity() })],
  ['fromTransforms (bit flip)', () => ({ client: flip, server: flip })],
  ['fromTransforms (pass-through) under identity', () => ({ client: [passThrough, identity()], server: [identity(), passThrough] })],
  ['stack of 1 identity', () => ({ client: stack(identities(1)), server: stack(identities(1)) })],
  ['stack of 3 identities', () => ({ client: stack(identities(3)), server: identities(3) })],
  ['stack of 10 identities', () => ({ client: stack(identities(10)), server: stack(identities(10)) })],
  ['nested stacks', () => ({ client: stack([identity(), stack([flip, stack([identity()])])]), server: [flip, identity()] })],
  ['no layers at all', () => ({ client: [], server: [] })],
];

for (const transport of ['memory', 'tcp'] as const) {
  describe(`checkFilter over ${transport}`, () => {
    for (const [name, makePair] of subjects) {
      describe(name, () => {
        for (const check of filterChecks(makePair, { transport, seed: 20261126, bigTransferBytes: transport === 'tcp' ? 4 << 20 : 16 << 20 })) {
          it(check.name, () => check.run());
        }
      });
    }
  });
}

describe('checkFilter reports broken filters', () => {
  // Drops every 1000th byte going up: a lossy layer the suite must catch.
  class Lossy extends Layer {
    #seen = 0;
    protected override transformIn(chunk: Buffer): void {
      const kept: number[] = [];
      for (const byte of chunk) if (++this.#seen % 1000 !== 0) kept.push(byte);
      this.pushUp(Buffer.from(kept));
    }
  }
  const lossy: Filter = { name: 'lossy', attach: (lower) => new Lossy(lower, { name: 'lossy' }) };

  it('names the property and the seed when bytes are lost', async () => {
    const failure = await checkFilter(() => ({ client: lossy, server: lossy }), { seed: 7 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConformanceError);
    expect((failure as ConformanceError).check).toBe('round-trip-fragmented');
    expect((failure as ConformanceError).message).toMatch(/seed 7/);
  });

  // Buffers every write and never passes it on: an unbounded queue.
  class Hoarder extends Layer {
    readonly #hoard: Buffer[] = [];
    protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
      this.#hoard.push(...chunks);
      done();
    }
  }
  const hoarder: Filter = { name: 'hoarder', attach: (lower) => new Hoarder(lower, { name: 'hoarder' }) };

  it('catches an unbounded queue', async () => {
    const check = filterChecks(() => ({ client: hoarder, server: identity() }), { seed: 1 })
      .find((c) => c.name === 'paused-reader-bounds-memory')!;
    await expect(check.run()).rejects.toThrow(/unbounded queue/);
  });
});

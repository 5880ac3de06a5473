// A slice of the TLS mutation fuzzer (npm run fuzz runs 20 000 cases): 500
// cases over every engine built in, both roles. Each must end in a coded
// error or a clean close within 2 s, with nothing left behind.
import { describe, expect, it } from 'vitest';
import { MUTATIONS, mutate, splitRecords } from '../scripts/fuzz/mutate.js';
import { availableEngines, fuzz, makeTargets } from '../scripts/fuzz/tls-fuzzer.js';
import { Layer, identity } from '../lib/index.js';
import { Random } from '../lib/testing/index.js';

const SLICE = 500;

describe('TLS mutation fuzzer', () => {
  it('splits a TLS stream into records and keeps every byte', () => {
    const record = (type: number, body: number): Buffer => Buffer.concat([Buffer.from([type, 3, 3, 0, body]), Buffer.alloc(body, type)]);
    const stream = Buffer.concat([record(22, 10), record(23, 0), record(21, 2), Buffer.from([23, 3])]);
    const records = splitRecords(stream);
    expect(records.map((r) => r.length)).toEqual([15, 5, 7, 2]);
    expect(Buffer.concat(records).equals(stream)).toBe(true);
  });

  it('every mutation changes the stream, reproducibly from its seed', () => {
    const stream = Buffer.concat([Buffer.from([22, 3, 3, 0, 8]), Buffer.alloc(8, 1), Buffer.from([23, 3, 3, 0, 4]), Buffer.alloc(4, 2)]);
    for (const [name, apply] of Object.entries(MUTATIONS)) {
      const once = Buffer.concat(apply(splitRecords(stream), new Random(7)));
      const again = Buffer.concat(apply(splitRecords(stream), new Random(7)));
      expect(once.equals(again), name).toBe(true);
      expect(once.equals(stream), `${name} left the stream unchanged`).toBe(false);
    }
    expect(mutate(stream, new Random(3)).chunks.length).toBeGreaterThan(0);
  });

  it('the leak check catches a layer that leaves a timer behind', async () => {
    const timers: NodeJS.Timeout[] = [];
    const leaky = { name: 'leaky', attach: (lower: Layer['lower']) => {
      timers.push(setInterval(() => {}, 60_000));
      return new Layer(lower, { name: 'leaky' });
    } };
    const target = { name: 'leaky', engine: 'none', role: 'client' as const, filter: leaky, peer: identity(), peerBytes: Buffer.from([23, 3, 3, 0, 1, 0]) };
    try {
      const reports = await fuzz([target], 10, 1);
      expect(reports.get('leaky')!.failures.join('\n')).toMatch(/left behind Timeout/);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it(`${SLICE} mutated transcripts end in a coded error or a clean close, nothing left behind`, async () => {
    const targets = await makeTargets();
    for (const engine of availableEngines()) {
      expect(new Set(targets.filter((t) => t.engine === engine).map((t) => t.role)), engine).toEqual(new Set(['client', 'server']));
    }
    const reports = await fuzz(targets, Math.ceil(SLICE / targets.length), 20261126);
    let cases = 0;
    for (const [name, report] of reports) {
      expect(report.failures, name).toEqual([]);
      cases += report.cases;
    }
    expect(cases).toBeGreaterThanOrEqual(SLICE);
  });
});

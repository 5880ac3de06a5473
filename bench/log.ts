/**
 * What a logger costs: a pair with log() (off, events, summary) vs the same
 * pair with identity(), in one run. Run: npx tsx bench/log.ts
 */
import { duplexPair, identity, log, wrap, type Filter } from '../lib/index.js';

const TOTAL = 256 * 1024 * 1024;
const WRITE = 16 * 1024;
const chunk = Buffer.alloc(WRITE, 0x61);

async function run(filter: Filter): Promise<number> {
  const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
  const client = wrap(a, [filter], { role: 'client' });
  const server = wrap(b, [], { role: 'server' });
  const start = performance.now();
  let got = 0;
  const reading = (async () => {
    for await (const piece of server) got += (piece as Buffer).length;
  })();
  for (let sent = 0; sent < TOTAL; sent += WRITE) if (!client.write(chunk)) await new Promise((resolve) => client.once('drain', resolve));
  client.end();
  await reading;
  if (got !== TOTAL) throw new Error(`got ${got}`);
  return performance.now() - start;
}

const discard = (): void => {};
const cases: Array<[string, () => Filter]> = [
  ['identity', () => identity()],
  ['log enabled: false', () => log({ enabled: false, sink: discard })],
  ["log level 'events'", () => log({ level: 'events', sink: discard })],
  ['log summary', () => log({ sink: discard })],
  ['log hex, maxBytes 64', () => log({ format: 'hex', maxBytes: 64, sink: discard })],
];
await run(identity());
const times = new Map<string, number>();
for (let round = 0; round < 3; round++) {
  for (const [name, make] of cases) times.set(name, Math.min(times.get(name) ?? Infinity, await run(make())));
}
const base = times.get('identity')!;
for (const [name, ms] of times) console.log(`${name.padEnd(24)} ${(TOTAL / 1e6 / (ms / 1000)).toFixed(0).padStart(5)} MB/s  ${(base / ms).toFixed(2)}× identity`);

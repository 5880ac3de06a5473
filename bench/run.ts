// `npm run bench`: measures every row of the benchmark table, each against its
// baseline in the same run, and prints the table.
//
//   --quick            smaller sizes and fewer connections
//   --size N           bytes each throughput sample moves (e.g. 1MiB), for CI smoke runs
//   --samples N        samples per variant (default 5; the row shows the median)
//   --connections N    idle TLS connections in the heap row (default 2000)
//   --handshakes N     handshakes per sample in the handshake rows
//   --only ID[,ID…]    only these rows (an id, or a group name); --list shows them
//   --json[=PATH]      also write the rows as JSON (default bench/results.json)
//   --markdown         also print the table as Markdown (for the README)
//
// WIRESTACK_NODE_INTERNALS=0 in the environment measures the TLS layer on
// public Node API only (the header says which).
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { type BenchOptions, type Row, markdownTable, parseBytes, printTable } from './harness.js';
import type { Group } from './group.js';
import { identityGroup } from './identity.js';
import { libraryUnderTest } from './wirestack.js';
import { tlsBulkGroup } from './tls-bulk.js';
import { handshakesGroup } from './handshakes.js';
import { corkGroup } from './cork.js';
import { memoryGroup } from './memory.js';
import { deflateGroup } from './deflate.js';
import { forgeGroup } from './forge.js';

const groups: readonly Group[] = [tlsBulkGroup, identityGroup, handshakesGroup, corkGroup, memoryGroup, deflateGroup, forgeGroup];

interface Args {
  opts: BenchOptions;
  only: string[] | null;
  json: string | null;
  list: boolean;
  markdown: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const name = arg.slice(2);
      const takesValue = ['size', 'samples', 'connections', 'handshakes', 'only'].includes(name);
      if (takesValue) {
        const value = argv[++i];
        if (value === undefined) throw new Error(`--${name} needs a value`);
        flags.set(name, value);
      } else {
        flags.set(name, true);
      }
    }
  }
  const known = new Set(['quick', 'size', 'samples', 'connections', 'handshakes', 'only', 'json', 'list', 'markdown']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}`);
  const quick = flags.get('quick') === true;
  const value = (name: string): string | undefined => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const opts: BenchOptions = {
    quick,
    size: value('size') !== undefined ? parseBytes(value('size')!) : (quick ? 64 : 256) << 20,
    samples: Number(value('samples') ?? 5),
    connections: Number(value('connections') ?? (quick ? 500 : 2000)),
    handshakes: Number(value('handshakes') ?? (quick ? 100 : 300)),
  };
  const json = flags.get('json');
  return {
    opts,
    only: value('only')?.split(',').map((s) => s.trim()).filter(Boolean) ?? null,
    json: json === undefined ? null : json === true ? new URL('./results.json', import.meta.url).pathname : json,
    list: flags.get('list') === true,
    markdown: flags.get('markdown') === true,
  };
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${cpu}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const g of groups) console.log(`${g.name}: ${g.rows.join(', ')}`);
    return;
  }
  const wanted = (group: Group, id: string): boolean =>
    args.only === null || args.only.includes(id) || args.only.includes(group.name);
  if (args.only) {
    const all = new Set(groups.flatMap((g) => [g.name, ...g.rows]));
    for (const id of args.only) if (!all.has(id)) throw new Error(`no row or group called ${id} (see --list)`);
  }
  const startedOn = machine();
  console.log(`wirestack benchmarks — ${startedOn}`);
  console.log(`measuring ${libraryUnderTest}`);
  // The library reads it when it loads; WIRESTACK_NODE_INTERNALS=0 npm run bench shows what public-API-only TLS costs.
  console.log(`TLS with Node's private APIs ${process.env['WIRESTACK_NODE_INTERNALS'] === '0' ? 'off (WIRESTACK_NODE_INTERNALS=0)' : 'on (where usable)'}`);
  console.log(`${args.opts.quick ? 'quick run, ' : ''}throughput samples of ${args.opts.size} bytes, median of ${args.opts.samples}\n`);
  const rows: Row[] = [];
  for (const group of groups) {
    const selected = new Set(group.rows.filter((id) => wanted(group, id)));
    if (selected.size === 0) continue;
    const started = performance.now();
    const groupRows = await group.run(args.opts, selected);
    rows.push(...groupRows);
    console.error(`  ${group.name}: ${groupRows.length} row(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log('');
  printTable(rows);
  const finishedOn = machine();
  console.log(`\nfinished — ${finishedOn}`);
  if (args.markdown) {
    console.log('');
    console.log(markdownTable(rows));
    const notes = rows.map((r, i) => (r.note ? `${i + 1}. ${r.row}: ${r.note}` : null)).filter((n): n is string => n !== null);
    console.log('');
    for (const note of notes) console.log(note);
  }
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), library: libraryUnderTest, machine: startedOn, machineAtEnd: finishedOn, options: args.opts, rows }, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

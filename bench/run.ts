// `npm run bench`: measures every row of the benchmark table, each against its
// baseline in the same run, and prints the table. The variants run in
// measuring processes (isolated.ts: those a table row compares share one, the
// in-memory ones have one each); this process only asks for samples and
// builds the rows.
//
//   --quick            smaller sizes and fewer connections
//   --size N           bytes each throughput sample moves (e.g. 1MiB), for CI smoke runs
//   --samples N        samples per variant (default 5; the row shows the median ratio and the spread)
//   --connections N    idle TLS connections in the memory rows (default 2000)
//   --handshakes N     handshakes per sample in the handshake rows
//   --only ID[,ID…]    only these rows (an id, or a group name); --list shows them
//   --no-internals     measure with WIRESTACK_NODE_INTERNALS=0 (wirestack's TLS on Node's public API
//                      only), as does that variable in this process's environment
//   --json[=PATH]      also write the rows as JSON (default bench/results.json)
//   --markdown         also print the table as Markdown (for the README)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { type BenchOptions, type Row, parseBytes } from './harness.js';
import { markdownTable, printTable } from './table.js';
import type { Group } from './group.js';
import { identityGroup } from './identity.js';
import { libraryUnderTest, readsInternalsSwitch } from './wirestack.js';
import { tlsBulkGroup } from './tls-bulk.js';
import { handshakesGroup } from './handshakes.js';
import { corkGroup } from './cork.js';
import { memoryGroup } from './memory.js';
import { deflateGroup } from './deflate.js';
import { forgeGroup } from './forge.js';

// The identity group first: its harness-ceiling row says whether the rows after it can be trusted.
const groups: readonly Group[] = [identityGroup, tlsBulkGroup, handshakesGroup, memoryGroup, corkGroup, deflateGroup, forgeGroup];

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
  const known = new Set(['quick', 'size', 'samples', 'connections', 'handshakes', 'only', 'no-internals', 'json', 'list', 'markdown']);
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
    publicApiOnly: flags.get('no-internals') === true || process.env['WIRESTACK_NODE_INTERNALS'] === '0',
  };
  for (const name of ['size', 'samples', 'connections', 'handshakes'] as const) {
    if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new Error(`--${name} must be a positive whole number`);
  }
  const json = flags.get('json');
  return {
    opts,
    only: value('only')?.split(',').map((s) => s.trim()).filter(Boolean) ?? null,
    json: json === undefined ? null : json === true ? new URL('./results.json', import.meta.url).pathname : json,
    list: flags.get('list') === true,
    markdown: flags.get('markdown') === true,
  };
}

// What the figures were measured on.
function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version} (OpenSSL ${process.versions.openssl}), ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()}`;
}

// The 1, 5 and 15 minute load averages: how busy the machine was besides the run.
function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
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
  const started = { at: new Date(), load: loadAverage() };
  console.log(`wirestack benchmarks — ${machine()}, load average ${started.load}`);
  console.log(`measuring ${libraryUnderTest}`);
  if (!args.opts.publicApiOnly) console.log("TLS with Node's private APIs on (where usable)");
  else if (readsInternalsSwitch()) console.log("TLS with Node's private APIs off: public API only: every measuring process runs with WIRESTACK_NODE_INTERNALS=0");
  else console.log('WIRESTACK_NODE_INTERNALS=0 is set, but this build never reads it: the rows measure its usual paths');
  console.log(`${args.opts.quick ? 'quick run, ' : ''}throughput samples of ${args.opts.size} bytes; samples per variant: ${args.opts.samples}, the variants a row compares sampled in turn in one measuring process\n`);
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
  const run = {
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    date: started.at.toISOString(),
    minutes: (Date.now() - started.at.getTime()) / 60_000,
    machine: machine(),
    library: libraryUnderTest,
    publicApiOnly: args.opts.publicApiOnly ? (readsInternalsSwitch() ? 'yes' : 'asked for, but this build never reads WIRESTACK_NODE_INTERNALS') : 'no',
    loadAverageAtStart: started.load,
    loadAverageAtEnd: loadAverage(),
  };
  console.log(`\nfinished in ${run.minutes.toFixed(1)} min, load average ${run.loadAverageAtEnd}`);
  if (args.markdown) {
    console.log('');
    console.log(markdownTable(rows, run));
  }
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ ...run, options: args.opts, rows }, null, 2) + '\n');
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

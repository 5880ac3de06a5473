/**
 * `wirestack proxy LISTEN --to TARGET [flags]`: relays each connection it
 * accepts on LISTEN to TARGET, through a stack on each side (the flags
 * before `--to` are the client side's, those after it the target side's)
 * and the faults the fault flags set, as Toxiproxy does; `--api` serves
 * Toxiproxy's control API, to change the faults while connections are open.
 */
import { describeTarget, type Connection, type WirestackError } from '../lib/index.js';
import { proxy, type Faults, type Proxy, type ProxiedConnection, type Toxic, type ToxicType } from '../lib/testing/index.js';
import { formatFlags, has, parseArgs, parseBytes, parseDuration, usage, valueOf, valuesOf, type FlagSpec, type ParsedArgs } from './args.js';
import { parseAddress, parseHostPort } from './address.js';
import { answeredHelpOrVersion, otherFlags } from './common-flags.js';
import { formatBytes } from './progress.js';
import { failureLine } from './report.js';
import { closeOnSignals } from './signals.js';
import { CLIENT_TLS_FLAGS, LAYER_FLAGS, SERVER_TLS_FLAGS, stackFromFlags } from './stack-from-flags.js';
import { serveToxiproxyApi, type ProxyRegistry } from './toxiproxy-api.js';
import { versionLine } from './version.js';

// The TLS flags of each side: listen's before --to, connect's after it, less
// those a relay has no use for (a per-client verdict, a session file, a printout).
const CLIENT_SIDE_TLS = SERVER_TLS_FLAGS.filter((f) => f.name !== 'verify');
const TARGET_SIDE_TLS = CLIENT_TLS_FLAGS.filter((f) => !['showcerts', 'sess-in', 'sess-out'].includes(f.name));

const DIRECTION = '[up:|down:]';

/** The fault flags: each for both directions, or one (`down:100`). */
export const FAULT_FLAGS: readonly FlagSpec[] = [
  { name: 'delay', value: 'required', placeholder: `${DIRECTION}MS[±JITTER]`, help: 'add latency (Toxiproxy\'s latency; ± may be written +-)' },
  { name: 'throttle', value: 'required', placeholder: `${DIRECTION}BYTES_PER_S`, help: 'limit the rate (Toxiproxy\'s bandwidth)' },
  { name: 'fragment', value: 'required', placeholder: `${DIRECTION}SIZES`, help: 'cut into pieces of these sizes in turn (1 or 1,5,100), each its own write' },
  { name: 'reset-after', value: 'required', placeholder: `${DIRECTION}BYTES`, help: 'reset the connection (TCP RST to both ends) after BYTES' },
  { name: 'stall-after', value: 'required', placeholder: `${DIRECTION}BYTES`, help: 'hold everything after BYTES, with no end (a hung peer)' },
  { name: 'limit', value: 'required', placeholder: `${DIRECTION}BYTES`, help: 'close the connection after BYTES (Toxiproxy\'s limit_data)' },
];

const RELAY_FLAGS: readonly FlagSpec[] = [
  { name: 'to', value: 'required', placeholder: 'TARGET', help: 'where to relay: HOST:PORT or unix:PATH; the layer and TLS flags after it are the target side\'s' },
  { name: 'api', value: 'required', placeholder: 'HOST:PORT', help: 'serve Toxiproxy\'s HTTP API (v2) there, to change faults and proxies while running' },
  { name: 'name', value: 'required', placeholder: 'NAME', help: 'the proxy\'s name in the API (default wirestack)' },
  { name: 'connect-timeout', short: 'w', value: 'required', placeholder: 'TIME', help: 'give up on the target after TIME (default 10s)' },
];

const OTHER_FLAGS = otherFlags('print nothing on stderr but the addresses, failures (and --log output)');

const byName = new Map<string, FlagSpec>();
for (const spec of [...LAYER_FLAGS, ...CLIENT_SIDE_TLS, ...TARGET_SIDE_TLS, ...FAULT_FLAGS, ...RELAY_FLAGS, ...OTHER_FLAGS]) {
  if (!byName.has(spec.name)) byName.set(spec.name, spec);
}
/** Every flag `proxy` takes. */
export const PROXY_FLAGS: readonly FlagSpec[] = [...byName.values()];

const SIDE_FLAGS = new Set([...LAYER_FLAGS, ...CLIENT_SIDE_TLS, ...TARGET_SIDE_TLS].map((f) => f.name));

/** `wirestack proxy --help`. */
export const PROXY_HELP = `Usage: wirestack proxy LISTEN [client-side flags] --to TARGET [target-side flags]
       wirestack proxy --api HOST:PORT

Listens on LISTEN ([HOST:]PORT or unix:PATH) and relays each connection to
TARGET, through one stack toward the client (the layer and TLS flags before
--to, as for listen) and one toward the target (those after it, as for
connect), and through the faults the fault flags set, which act on what the
proxy relays between the two stacks: plaintext where it ends TLS, the bytes
as they are where it does not. Like Toxiproxy, whose control API --api
serves (its v2 endpoints and toxics; see the README), so that tests change
the faults, add proxies and take them down while connections are open.
Runs until stopped (then exits 130 or 143).

Each connection is numbered (#1, #2, …) on stderr; its --log lines too.

Client side (before --to), lowest first in the order given:
${formatFlags(LAYER_FLAGS, PROXY_FLAGS)}
${formatFlags(CLIENT_SIDE_TLS, PROXY_FLAGS)}

Target side (after --to): the same layer flags, and
${formatFlags(TARGET_SIDE_TLS.filter((f) => !CLIENT_SIDE_TLS.some((c) => c.name === f.name)), PROXY_FLAGS)}
  (--cert, --key, --ca, --alpn and the tuning flags as for connect)

Faults, anywhere; each both ways, or one way with up: (client → target) or
down: (target → client):
${formatFlags(FAULT_FLAGS, PROXY_FLAGS)}

Relay:
${formatFlags(RELAY_FLAGS, PROXY_FLAGS)}

Other:
${formatFlags(OTHER_FLAGS, PROXY_FLAGS)}

Examples:
  wirestack proxy 127.0.0.1:15432 --to 127.0.0.1:5432 --delay down:100±20 --throttle 50000
  wirestack proxy 8443 --tls --self-signed --to example.com:443 --tls --log=text
  wirestack proxy 127.0.0.1:6380 --to 127.0.0.1:6379 --api 127.0.0.1:8474
  wirestack proxy --api 127.0.0.1:8474          # a stand-in for toxiproxy-server`;

/** Runs `proxy`; runs until stopped. Failures to start are thrown, coded. */
export async function runProxy(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, PROXY_FLAGS);
  if (answeredHelpOrVersion(args, PROXY_HELP)) return 0;
  if (args.positionals.length > 1) throw usage(`unexpected argument "${args.positionals[1]}"`);
  const listenText = args.positionals[0];
  const toText = valueOf(args, 'to');
  const apiText = valueOf(args, 'api');
  if (listenText === undefined && toText === undefined && apiText === undefined) throw usage('expected LISTEN --to TARGET, or --api HOST:PORT');
  if ((listenText === undefined) !== (toText === undefined)) throw usage(listenText === undefined ? 'expected LISTEN before --to' : 'expected --to TARGET');
  if (args.flags.filter((f) => f.name === 'to').length > 1) throw usage('give --to once');
  const quiet = has(args, 'quiet');
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`wirestack: ${line}\n`);
  };
  const timeoutText = valueOf(args, 'connect-timeout');
  const connectTimeout = timeoutText === undefined ? undefined : parseDuration(timeoutText, 'connect-timeout');

  const registry: ProxyRegistry = {
    proxies: new Map(),
    version: versionLine(),
    create: async (name, listen, upstream, enabled) => {
      const made = await proxy({ name, listen, target: upstream, enabled, ...(connectTimeout === undefined ? {} : { connectTimeout }) });
      watch(made, `${name}#`, say);
      registry.proxies.set(name, made);
      say(`proxy ${name}: ${made.enabled ? `listening on ${where(made.address())}` : 'made, disabled'} → ${describeTarget(upstream)}`);
      return made;
    },
  };

  if (listenText !== undefined) {
    const main = await startMain(args, listenText, toText!, connectTimeout, say);
    registry.proxies.set(main.name, main);
  } else if (args.flags.some((f) => SIDE_FLAGS.has(f.name) || FAULT_FLAGS.some((s) => s.name === f.name))) {
    throw usage('layer, TLS and fault flags need LISTEN --to TARGET');
  }
  if (apiText !== undefined) {
    const { host, port } = parseHostPort(apiText, true);
    const server = await serveToxiproxyApi(host === undefined ? { port } : { host, port }, registry);
    const { address, port: apiPort } = server.address() as { address: string; port: number };
    process.stderr.write(`wirestack: control API (Toxiproxy v2) on http://${describeTarget({ host: address, port: apiPort })}\n`);
  }
  closeOnSignals(() => Promise.all([...registry.proxies.values()].map((p) => p.close())));
  return new Promise<number>(() => {});
}

// The proxy of the command line, with its stacks and faults.
async function startMain(args: ParsedArgs, listenText: string, toText: string, connectTimeout: number | undefined,
  say: (line: string) => void): Promise<Proxy> {
  const toIndex = args.flags.findIndex((f) => f.name === 'to');
  const side = (from: number, to: number): ParsedArgs => ({ flags: args.flags.slice(from, to).filter((f) => SIDE_FLAGS.has(f.name)), positionals: [] });
  const clientSide = side(0, toIndex);
  const targetSide = side(toIndex + 1, args.flags.length);
  misplaced(clientSide, TARGET_SIDE_TLS, CLIENT_SIDE_TLS, 'the target side: put it after --to TARGET');
  misplaced(targetSide, CLIENT_SIDE_TLS, TARGET_SIDE_TLS, 'the client side: put it before --to');
  const listenAt = parseAddress(listenText, true);
  const target = parseAddress(toText, false);
  const tags = new WeakMap<object, string>();
  let count = 0;
  const tagOf = (remote: object): string => {
    let tag = tags.get(remote);
    if (tag === undefined) tags.set(remote, tag = `#${++count}`);
    return tag;
  };
  const clientStack = await stackFromFlags(clientSide, 'server', { tagOf });
  const targetStack = await stackFromFlags(targetSide, 'client', {
    ...('path' in target ? { defaultServername: 'localhost' } : {}),
    ...(connectTimeout === undefined ? {} : { handshakeTimeoutMs: connectTimeout }),
  });
  const made = await proxy({
    name: valueOf(args, 'name') ?? 'wirestack',
    listen: listenAt,
    target,
    downstream: clientStack.filters,
    upstream: (client: Connection) => targetStack.tagged(tagOf(client.remote)),
    ...(connectTimeout === undefined ? {} : { connectTimeout }),
  });
  const faults = faultsFrom(args);
  made.set(faults.upstream, 'upstream');
  made.set(faults.downstream, 'downstream');
  watch(made, '#', say, (pc) => tagOf(pc.downstream.remote));
  // The listening line comes last: whoever waits for it has seen the others.
  if (clientStack.selfSigned !== undefined) say(`throwaway certificate for localhost, 127.0.0.1, ::1; SHA-256 ${clientStack.selfSigned}`);
  for (const toxic of made.toxics) say(`fault ${describeToxic(toxic)}`);
  const stacks = `client side: ${clientStack.names.join(' → ') || 'plain'}; target side: ${targetStack.names.join(' → ') || 'plain'}`;
  process.stderr.write(`wirestack: proxy ${made.name}: listening on ${where(made.address())} → ${describeTarget(target)} (${stacks})\n`);
  return made;
}

function where(address: { path: string } | { host: string; port: number }): string {
  return 'path' in address ? `unix:${address.path}` : describeTarget(address);
}

// A side's flag that belongs to the other side only.
function misplaced(args: ParsedArgs, other: readonly FlagSpec[], own: readonly FlagSpec[], belongs: string): void {
  for (const flag of args.flags) {
    if (other.some((s) => s.name === flag.name) && !own.some((s) => s.name === flag.name)) {
      throw usage(`--${flag.name} is for ${belongs}`);
    }
  }
}

// One line per connection on stderr: when it comes, how it ends.
function watch(target: Proxy, prefix: string, say: (line: string) => void, tagOf?: (pc: ProxiedConnection) => string): void {
  const tag = (pc: ProxiedConnection): string => tagOf?.(pc) ?? `${prefix}${pc.id}`;
  target.on('connection', (pc: ProxiedConnection) => {
    const remote = pc.downstream.remote;
    say(`${tag(pc)} connection from ${remote.host ? describeTarget({ host: remote.host, port: remote.port ?? 0 }) : 'a Unix socket client'}`);
    void pc.closed.then(() => {
      const moved = `↑ ${formatBytes(pc.bytes.upstream)}, ↓ ${formatBytes(pc.bytes.downstream)}`;
      say(`${tag(pc)} closed${pc.fault && !pc.fault.includes('reset') ? ` by ${pc.fault}` : ''} (${moved})`);
    });
  });
  target.on('connectionError', (err: WirestackError, pc: ProxiedConnection | undefined) => {
    process.stderr.write(`${failureLine('proxy', err, pc ? tag(pc) : undefined)}\n`);
  });
}

// The fault flags as the faults of each direction.
function faultsFrom(args: ParsedArgs): { upstream: Faults; downstream: Faults } {
  const faults = { upstream: {} as Faults, downstream: {} as Faults };
  for (const spec of FAULT_FLAGS) {
    for (const text of valuesOf(args, spec.name)) {
      const [, dir, value] = /^(?:(up|upstream|down|downstream):)?(.*)$/.exec(text)!;
      const streams = dir === undefined ? ['upstream', 'downstream'] as const : dir.startsWith('up') ? ['upstream'] as const : ['downstream'] as const;
      for (const stream of streams) {
        const key = FAULT_KEYS[spec.name]!;
        if (faults[stream][key] !== undefined) throw usage(`--${spec.name} is given twice for ${stream}`);
        Object.assign(faults[stream], { [key]: faultValue(spec.name, value!) });
      }
    }
  }
  return faults;
}

const FAULT_KEYS: Record<string, keyof Faults> = {
  delay: 'delay', throttle: 'throttle', fragment: 'fragment', 'reset-after': 'resetAfter', 'stall-after': 'stallAfter', limit: 'limit',
};

function faultValue(flag: string, text: string): Faults[keyof Faults] {
  if (flag === 'delay') {
    const match = /^(\d+)(?:(?:±|\+-)(\d+))?$/.exec(text);
    if (!match) throw usage(`--delay: "${text}" is not MS or MS±JITTER (whole milliseconds)`);
    return { ms: Number(match[1]), jitter: Number(match[2] ?? 0) };
  }
  if (flag === 'fragment') {
    if (!/^\d+(,\d+)*$/.test(text) || text.split(',').some((n) => Number(n) < 1)) throw usage(`--fragment: "${text}" is not a list of sizes ≥ 1 (1 or 1,5,100)`);
    return text.split(',').map(Number);
  }
  const bytes = parseBytes(text, flag);
  if (flag === 'throttle' && bytes === 0) throw usage('--throttle must be more than 0 bytes per second');
  return bytes;
}

/** One line about a toxic, for people: `latency_downstream: latency 100 ms ± 20 ms, downstream`. */
function describeToxic(toxic: Toxic): string {
  const a = toxic.attributes as Record<string, number> & { sizes?: readonly number[] };
  const what: Record<ToxicType, () => string> = {
    latency: () => `latency ${a.latency} ms${a.jitter ? ` ± ${a.jitter} ms` : ''}`,
    bandwidth: () => `bandwidth ${Math.round(a.rate! * 1000)} bytes/s`,
    slow_close: () => `slow close, ${a.delay} ms`,
    timeout: () => `timeout: nothing passes${a.timeout ? `, closed after ${a.timeout} ms` : ''}`,
    reset_peer: () => `reset ${a.timeout} ms after the first bytes`,
    slicer: () => `slices of ${a.average_size} ± ${a.size_variation} bytes, ${a.delay} µs apart`,
    limit_data: () => `closed after ${a.bytes} bytes`,
    fragment: () => `pieces of ${a.sizes!.join(', ')} bytes`,
    reset_after: () => `reset after ${a.bytes} bytes`,
    stall_after: () => `stalled after ${a.bytes} bytes`,
  };
  const chance = toxic.toxicity < 1 ? `, toxicity ${toxic.toxicity}` : '';
  return `${toxic.name}: ${what[toxic.type]()}, ${toxic.stream}${chance}`;
}

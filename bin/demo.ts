/**
 * `wirestack demo`: the library at work with nothing to set up. A TLS echo
 * server on loopback with an in-memory CA; a client whose stack logs the
 * TLS records below TLS and the compressed bytes above it; a few messages
 * and 1 MiB echoed and checked by SHA-256; the session's parameters and the
 * bytes each layer moved.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, deflate, listen, log, tls, WirestackError, type Connection } from '../lib/index.js';
import { makeCertificates, Random } from '../lib/testing/index.js';
import { has, parseArgs, type FlagSpec } from './args.js';
import { formatBytes } from './progress.js';

const DEMO_FLAGS: readonly FlagSpec[] = [
  { name: 'help', short: 'h', value: 'none', help: 'show this help' },
];

/** `wirestack demo --help`. */
export const DEMO_HELP = `Usage: wirestack demo

Runs a TLS echo server and a client on 127.0.0.1, with certificates made in
memory, and shows what each layer of the client's stack does:

  wire log → tls → over-tls log → deflate     (lowest first)

the TLS records of the handshake and of each message, the compressed bytes
above TLS, a 1 MiB transfer checked by SHA-256, the TLS parameters, and the
bytes per layer. Exits 0 when every echo matched. Nothing to set up.

Example:
  npm install && npm run demo`;

const MESSAGES = ['hello, wirestack', 'each message is compressed, then encrypted', 'and comes back the same way'];
const PAYLOAD_BYTES = 1024 * 1024;
// Log lines kept of a phase: the head and the tail; the middle is counted.
const HEAD_LINES = 14;
const TAIL_LINES = 6;

/** Runs the demo; resolves with 0 when everything echoed matched. */
export async function runDemo(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, DEMO_FLAGS);
  if (has(args, 'help')) {
    process.stdout.write(`${DEMO_HELP}\n`);
    return 0;
  }
  const out = (line = ''): void => {
    process.stdout.write(`${line}\n`);
  };
  // The loggers write here; each phase prints (an abridged copy of) its lines.
  const logLines: string[] = [];
  const showLog = (): void => {
    const lines = logLines.splice(0);
    const shown = lines.length <= HEAD_LINES + TAIL_LINES + 1 ? lines
      : [...lines.slice(0, HEAD_LINES), `… ${lines.length - HEAD_LINES - TAIL_LINES} log lines not shown …`, ...lines.slice(-TAIL_LINES)];
    for (const line of shown) out(`    ${line}`);
  };

  const certs = makeCertificates();
  const server = await listen({ host: '127.0.0.1', port: 0 }, [tls.server(certs.server), deflate()], (conn) => {
    conn.pipe(conn);
  });
  const { port } = server.address() as { port: number };

  out('wirestack demo: one TLS connection on this machine, through a stack of filters');
  out();
  out('  client stack, lowest first:  wire log → tls → over-tls log → deflate');
  out('  server stack, lowest first:  tls → deflate, echoing every byte');
  out(`  server:  127.0.0.1:${port}, certificate for localhost signed by an in-memory CA`);
  out('  log lines: layer, milliseconds since the connection began, direction (out: going down to');
  out('  the network, in: coming up from it), size, and below TLS the records those bytes hold.');
  out('  TLS 1.3 records say TLSv1.2 on the wire, and after the ServerHello they are all');
  out('  application_data: the rest of the handshake is encrypted too.');

  let conn: Connection | undefined;
  try {
    conn = await connect({ host: 'localhost', port }, [
      log({ name: 'wire', sink: (line) => logLines.push(line) }),
      tls.client({ ca: certs.ca.cert }),
      log({ name: 'over-tls', format: 'hex', maxBytes: 32, sink: (line) => logLines.push(line) }),
      deflate(),
    ]);

    section('1. Handshake');
    // TLS 1.3 servers send session tickets just after the handshake; waiting
    // for the first keeps them in this part of the log, where they belong.
    const ticket = once(conn, 'session', { signal: AbortSignal.timeout(1000) }).then(() => true, () => false);
    const info = await conn.secured;
    const ticketed = await ticket;
    showLog();
    if (ticketed) out('    (the last records in are TLS 1.3 session tickets: a later connection may resume with one)');
    out();
    const peer = info.peerCertificate;
    table([
      ['protocol', info.protocol],
      ['cipher', info.cipher],
      ['peer', peer ? peer.subject.replace(/\n/g, ', ') : '(no certificate)'],
      ['issuer', peer ? peer.issuer.replace(/\n/g, ', ') : ''],
      ['names', peer ? peer.subjectAltNames.join(', ') : ''],
      ['SHA-256', peer ? peer.fingerprint256 : ''],
      ['verified', info.authorized ? 'yes: chain to the in-memory CA, and the name "localhost"' : `NO: ${info.authorizationError}`],
    ]);

    section('2. Messages, echoed (> sent, < received; the log above TLS shows them compressed)');
    for (const message of MESSAGES) {
      const sent = Buffer.from(message);
      out(`  > ${message}`);
      await conn.send(sent);
      const echoed = await conn.receiveExactly(sent.length);
      showLog();
      out(`  < ${echoed.toString()}${echoed.equals(sent) ? '' : '   ✗ DIFFERENT'}`);
      if (!echoed.equals(sent)) throw mismatch('a message');
    }

    section('3. 1 MiB, echoed and checked by SHA-256');
    const payload = textLikePayload(PAYLOAD_BYTES);
    const started = performance.now();
    const reply = conn.receiveExactly(payload.length);
    await conn.send(payload);
    const echoed = await reply;
    const ms = performance.now() - started;
    showLog();
    const sentHash = sha256(payload);
    const receivedHash = sha256(echoed);
    out();
    table([
      ['sent', `${payload.length} bytes  sha256 ${sentHash}`],
      ['received', `${echoed.length} bytes  sha256 ${receivedHash}`],
      ['', sentHash === receivedHash ? 'hash match ✓' : 'HASH MISMATCH ✗'],
      ['round trip', `${ms.toFixed(0)} ms, ${formatBytes(payload.length)} each way, compressed and encrypted at both ends`],
    ]);
    if (sentHash !== receivedHash) throw mismatch('the 1 MiB payload');

    section("4. Close: deflate's last block, TLS close_notify, then FIN; the server answers in kind");
    await conn.close();
    const rest = await conn.receive();
    showLog();
    out();
    out(`  the server's end arrived (${rest === null ? 'no' : 'unexpected'} bytes after it), with ${conn.tls?.peerClose ?? 'nothing'}`);

    section('5. Bytes per layer: what crossed each boundary of the client stack');
    const layers = conn.layers;
    const rows: string[][] = [['boundary', 'in', 'out']];
    layers.forEach((layer, i) => {
      const below = i === 0 ? 'socket' : layers[i - 1]!.name;
      rows.push([`${below} ↔ ${layer.name}`, String(layer.bytesIn ?? '-'), String(layer.bytesOut ?? '-')]);
    });
    rows.push([`${layers.at(-1)?.name ?? 'socket'} ↔ application`, String(conn.stats.bytesIn), String(conn.stats.bytesOut)]);
    grid(rows);
    const app = conn.stats.bytesOut;
    const compressed = layers.find((l) => l.name === 'deflate')?.bytesOut ?? 0;
    const wire = layers[0]?.bytesOut ?? 0;
    out();
    out(`  in: read from below, out: written below. A log changes no byte, so it matches its neighbour.`);
    out(`  The application wrote ${app} bytes; deflate made them ${compressed} (${pct(compressed, app)}); with the`);
    out(`  handshake, record headers and tags, TLS sent ${wire} (${pct(wire, app)}).`);
    out();
    out('Every echo matched. Next: `wirestack connect --help`, `wirestack listen --help`, and the README.');
    return 0;
  } finally {
    conn?.destroy();
    await server.close({ drain: false });
  }

  function section(title: string): void {
    out();
    out(title);
  }

  function table(rows: ReadonlyArray<readonly [string, string]>): void {
    for (const [key, value] of rows) out(`  ${key.padEnd(11)} ${value}`);
  }

  function grid(rows: readonly string[][]): void {
    for (const [name, inBytes, outBytes] of rows) out(`  ${name!.padEnd(26)} ${inBytes!.padStart(9)} ${outBytes!.padStart(9)}`);
  }
}

// Lines of log-like text: a random part and a repeating part, so that
// deflate has something to do without making the payload trivial.
function textLikePayload(bytes: number): Buffer {
  const random = new Random(2024);
  const verbs = ['GET', 'PUT', 'POST', 'DELETE'];
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `${String(i).padStart(6, '0')} ${verbs[random.int(0, verbs.length - 1)]} /items/${random.int(0, 99_999)} `
      + `${random.bytes(8).toString('hex')} ok\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

function mismatch(what: string): WirestackError {
  return new WirestackError('ERR_WIRESTACK_LAYER', `demo: ${what} came back different`, { layer: 'demo' });
}

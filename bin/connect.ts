/**
 * `wirestack connect HOST:PORT [flags]`: standard input → connection →
 * standard output, through the stack the flags describe. Like `nc` and
 * `openssl s_client`.
 */
import { connect } from '../lib/connect.js';
import type { SecureInfo } from '../filters/tls/info.js';
import { formatFlags, has, parseArgs, usage, type FlagSpec } from './args.js';
import { describeTarget } from '../lib/connect.js';
import { parseHostPort } from './address.js';
import { Progress } from './progress.js';
import { relay } from './relay.js';
import { EXIT_STATUS_HELP } from './report.js';
import { CLIENT_TLS_FLAGS, LAYER_FLAGS, stackFromFlags } from './stack-from-flags.js';

const OWN_FLAGS: readonly FlagSpec[] = [
  { name: 'quiet', short: 'q', value: 'none', help: 'print nothing on stderr but failures (and --log output)' },
  { name: 'help', short: 'h', value: 'none', help: 'show this help' },
];

/** Every flag `connect` takes. */
export const CONNECT_FLAGS: readonly FlagSpec[] = [...LAYER_FLAGS, ...CLIENT_TLS_FLAGS, ...OWN_FLAGS];

/** `wirestack connect --help`. */
export const CONNECT_HELP = `Usage: wirestack connect HOST:PORT [flags]

Connects to HOST:PORT, sends standard input and prints what comes back on
standard output. The two directions run apart, as in ncat and socat: the end
of standard input closes our side (TLS close_notify, then FIN) while what the
peer sends is still printed, and the peer's end does not stop standard input
from being sent. The command exits when both sides have ended.

Exit status:
${EXIT_STATUS_HELP}

Layers, lowest first, in the order given:
${formatFlags(LAYER_FLAGS, CONNECT_FLAGS)}

TLS:
${formatFlags(CLIENT_TLS_FLAGS, CONNECT_FLAGS)}

Other:
${formatFlags(OWN_FLAGS, CONNECT_FLAGS)}

Examples:
  printf 'GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n' | wirestack connect example.com:443 --tls
  wirestack connect localhost:8443 --tls --ca ca.pem --log --log=text --deflate`;

/** Runs `connect`; resolves with the exit status. Failures are thrown, coded. */
export async function runConnect(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, CONNECT_FLAGS);
  if (has(args, 'help')) {
    process.stdout.write(`${CONNECT_HELP}\n`);
    return 0;
  }
  if (args.positionals.length > 1) throw usage(`unexpected argument "${args.positionals[1]}"`);
  const { host, port } = parseHostPort(args.positionals[0], false);
  const { filters } = await stackFromFlags(args, 'client');
  const quiet = has(args, 'quiet');
  const conn = await connect({ host: host!, port }, filters);
  if (has(args, 'tls')) {
    const info = await conn.secured;
    if (!quiet) process.stderr.write(`wirestack: connected to ${describeTarget({ host: host!, port: port })}, ${describeSession(info)}\n`);
  } else if (!quiet) {
    process.stderr.write(`wirestack: connected to ${describeTarget({ host: host!, port: port })}\n`);
  }
  await relay(conn, process.stdin, process.stdout, { progress: new Progress(process.stderr) });
  return 0;
}

/** One line about a TLS session: version, cipher, ALPN, the peer's name, whether it was verified. */
export function describeSession(info: SecureInfo): string {
  const parts = [info.protocol, info.cipher];
  if (info.alpn) parts.push(`ALPN ${info.alpn}`);
  if (info.peerCertificate) parts.push(info.peerCertificate.subject.replace(/\n/g, ', '));
  parts.push(info.authorized ? 'verified' : `NOT verified (${info.authorizationError ?? 'no certificate'})`);
  return parts.join(', ');
}

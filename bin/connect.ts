/**
 * `wirestack connect HOST:PORT [flags]`: standard input → connection →
 * standard output, through the stack the flags describe, or a child
 * process joined to the connection (`--exec`). Like `nc`, `ncat` and
 * `openssl s_client`.
 */
import { writeFileSync } from 'node:fs';
import type { DetailedPeerCertificate } from 'node:tls';
import { connect, describeTarget, WirestackError, type Connection } from '../lib/index.js';
import { formatFlags, has, parseArgs, parseDuration, usage, valueOf, type FlagSpec } from './args.js';
import { parseAddress } from './address.js';
import { TRANSFER_FLAGS, answeredHelpOrVersion, otherFlags, transferFrom } from './common-flags.js';
import { execute } from './exec.js';
import { Progress } from './progress.js';
import { relay } from './relay.js';
import { EXIT_STATUS_HELP, failureLine } from './report.js';
import { certificateText, describeSession } from './session.js';
import { CLIENT_TLS_FLAGS, LAYER_FLAGS, stackFromFlags } from './stack-from-flags.js';

const CONNECTION_FLAGS: readonly FlagSpec[] = [
  { name: 'connect-timeout', short: 'w', value: 'required', placeholder: 'TIME',
    help: 'give up when the connection (and the TLS handshake) takes longer than TIME (default 30s)' },
  { name: 'exec', value: 'required', placeholder: 'CMD', help: "run CMD (with sh -c) joined to the connection instead of stdin/stdout" },
  ...TRANSFER_FLAGS,
];

const OTHER_FLAGS = otherFlags('print nothing on stderr but failures (and --log, --showcerts output)');

/** Every flag `connect` takes. */
export const CONNECT_FLAGS: readonly FlagSpec[] = [...LAYER_FLAGS, ...CLIENT_TLS_FLAGS, ...CONNECTION_FLAGS, ...OTHER_FLAGS];

/** `wirestack connect --help`. */
export const CONNECT_HELP = `Usage: wirestack connect HOST:PORT|unix:PATH [flags]

Connects to HOST:PORT (or the Unix socket PATH), sends standard input and
prints what comes back on standard output. The two directions run apart, as
in ncat and socat: the end of standard input closes our side (TLS
close_notify, then FIN) while what the peer sends is still printed, and the
peer's end does not stop standard input from being sent. The command exits
when both sides have ended.

Exit status:
${EXIT_STATUS_HELP}
  S  with --exec, the command's exit status S (128+N if signal N killed it)

Layers, lowest first, in the order given:
${formatFlags(LAYER_FLAGS, CONNECT_FLAGS)}

TLS:
${formatFlags(CLIENT_TLS_FLAGS, CONNECT_FLAGS)}

Connection:
${formatFlags(CONNECTION_FLAGS, CONNECT_FLAGS)}

Other:
${formatFlags(OTHER_FLAGS, CONNECT_FLAGS)}

Examples:
  printf 'GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n' | wirestack connect example.com:443 --tls
  wirestack connect localhost:8443 --tls --ca ca.pem --log --log=text --deflate
  wirestack connect unix:/run/app.sock --send-only < request.bin
  wirestack connect localhost:8443 --tls --ca ca.pem --sess-out s.bin; wirestack connect localhost:8443 --tls --ca ca.pem --sess-in s.bin`;

/** Runs `connect`; resolves with the exit status. Failures are thrown, coded. */
export async function runConnect(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, CONNECT_FLAGS);
  if (answeredHelpOrVersion(args, CONNECT_HELP)) return 0;
  if (args.positionals.length > 1) throw usage(`unexpected argument "${args.positionals[1]}"`);
  const target = parseAddress(args.positionals[0], false);
  const transfer = transferFrom(args);
  const command = valueOf(args, 'exec');
  if (command !== undefined && (transfer.sendOnly || transfer.recvOnly)) throw usage('--exec reads and writes the connection: give no --send-only or --recv-only with it');
  const timeoutText = valueOf(args, 'connect-timeout');
  const timeout = timeoutText === undefined ? undefined : parseDuration(timeoutText, 'connect-timeout');
  const { filters } = await stackFromFlags(args, 'client', {
    ...('path' in target ? { defaultServername: 'localhost' } : {}),
    ...(timeout === undefined ? {} : { handshakeTimeoutMs: timeout }),
  });
  const quiet = has(args, 'quiet');
  const where = describeTarget('path' in target ? target : { host: target.host ?? 'localhost', port: target.port });
  const conn = await connect(target, filters, timeout === undefined ? {} : { timeout });
  if (has(args, 'tls')) {
    const sessOut = valueOf(args, 'sess-out');
    if (sessOut !== undefined) conn.on('session', (session: Buffer) => saveSession(conn, sessOut, session));
    const info = await conn.secured;
    if (!quiet) process.stderr.write(`wirestack: connected to ${where}, ${describeSession(info)}\n`);
    if (has(args, 'showcerts')) process.stderr.write(certificateText(info, conn.getPeerCertificate(true) as DetailedPeerCertificate | undefined));
  } else if (!quiet) {
    process.stderr.write(`wirestack: connected to ${where}\n`);
  }
  if (command !== undefined) {
    const { status, error } = await execute(conn, command, transfer);
    if (error) process.stderr.write(`${failureLine('connect', error)}\n`);
    else if (status !== 0) process.stderr.write(`wirestack: ${command} exited with status ${status}\n`);
    return status;
  }
  await relay(conn, transfer.recvOnly ? null : process.stdin, transfer.sendOnly ? null : process.stdout, {
    progress: new Progress(process.stderr),
    ...(transfer.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: transfer.idleTimeoutMs }),
  });
  return 0;
}

// The newest session wins (TLS 1.3 servers send two); a file that cannot be
// written fails the connection, reported with its code.
function saveSession(conn: Connection, file: string, session: Buffer): void {
  try {
    writeFileSync(file, session, { mode: 0o600 });
  } catch (err) {
    conn.destroy(new WirestackError('ERR_WIRESTACK_STDIO', `--sess-out: cannot write ${file}: ${(err as Error).message}`, { layer: 'cli', cause: err }));
  }
}

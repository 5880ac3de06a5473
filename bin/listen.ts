/**
 * `wirestack listen [HOST:]PORT [flags]`: accepts connections and serves
 * each through the stack the flags describe: joined to stdin/stdout (the
 * default, one connection, like `nc -l`; many with `--keep-open`, like
 * `ncat -l -k`), echoed (`--echo`), or piped into a child process per
 * connection (`--exec CMD`, like `ncat --exec`).
 */
import type { PassThrough } from 'node:stream';
import {
  describeTarget, listen, WirestackError,
  type Connection, type ErrorCode, type Listener, type RemoteInfo, type SecureInfo, type Target,
} from '../lib/index.js';
import { formatFlags, has, oneOf, parseArgs, usage, valueOf, type FlagSpec } from './args.js';
import { parseAddress } from './address.js';
import { Broadcast } from './broadcast.js';
import { TRANSFER_FLAGS, answeredHelpOrVersion, otherFlags, transferFrom, type Transfer } from './common-flags.js';
import { execute } from './exec.js';
import { Progress } from './progress.js';
import { relay, watchIdle } from './relay.js';
import { EXIT_STATUS_HELP, failureLine } from './report.js';
import { describeServerSession } from './session.js';
import { closeOnSignals } from './signals.js';
import { LAYER_FLAGS, SERVER_TLS_FLAGS, stackFromFlags } from './stack-from-flags.js';

const MODE_FLAGS: readonly FlagSpec[] = [
  { name: 'echo', value: 'none', help: 'send back what each connection sends' },
  { name: 'exec', value: 'required', placeholder: 'CMD', help: "run CMD (with sh -c) per connection, joined to the connection's bytes" },
  { name: 'keep-open', short: 'k', value: 'none', help: 'serve many connections, one after another or at once (see above for stdin/stdout)' },
  { name: 'once', value: 'none', help: 'serve one connection, then exit with its outcome' },
  ...TRANSFER_FLAGS,
];

const OTHER_FLAGS: readonly FlagSpec[] = [
  { name: 'websocket', value: 'none', help: 'accept WebSockets (binary messages) instead of TCP: what webSocket() in a browser connects to' },
  ...otherFlags('print nothing on stderr but the address, failures (and --log output)'),
];

/** Every flag `listen` takes. */
export const LISTEN_FLAGS: readonly FlagSpec[] = [...LAYER_FLAGS, ...SERVER_TLS_FLAGS, ...MODE_FLAGS, ...OTHER_FLAGS];

/** `wirestack listen --help`. */
export const LISTEN_HELP = `Usage: wirestack listen [HOST:]PORT|unix:PATH [flags]

Listens on PORT (all interfaces unless HOST is given; port 0 picks a free
one) or on the Unix socket PATH, and prints the address bound on stderr
("listening on HOST:PORT"). Each connection gets a number (#1, #2, …) that
tags its lines on stderr, its --log lines included.

Without --echo or --exec, one connection is joined to standard input and
output, like nc -l: standard input is sent and what arrives is printed, each
direction until its own end (one side's end does not stop the other), and
the command exits when both have ended. With --keep-open, as ncat -l -k:
connections are served until the command is stopped, and those open at the
same time share standard input and output: what is read from standard input
goes to every open connection (it is read only while one is open, at the
pace of the slowest), and what each sends is printed as it arrives. A
connection's end closes our side of it too; the end of standard input
closes our side of every connection, and of each new one at once.

With --echo or --exec, connections are served one after another or at once
until the command is stopped (--keep-open changes nothing), or one with --once.

Exit status, with --once or without --echo, --exec and --keep-open
(otherwise the command serves until it is stopped; then 130 or 143):
${EXIT_STATUS_HELP}
  S  with --exec, the command's exit status S (128+N if signal N killed it)

Layers, lowest first, in the order given:
${formatFlags(LAYER_FLAGS, LISTEN_FLAGS)}

TLS:
${formatFlags(SERVER_TLS_FLAGS, LISTEN_FLAGS)}

What to do with each connection:
${formatFlags(MODE_FLAGS, LISTEN_FLAGS)}

Other:
${formatFlags(OTHER_FLAGS, LISTEN_FLAGS)}

Examples:
  wirestack listen 127.0.0.1:8443 --tls --self-signed --echo
  wirestack listen 8443 --tls --cert cert.pem --key key.pem --log --exec 'tr a-z A-Z'
  wirestack listen 8443 --tls --cert cert.pem --key key.pem --ca ca.pem --require-client-cert --echo
  wirestack listen unix:/tmp/app.sock -k --recv-only > uploads.bin
  wirestack listen 127.0.0.1:8080 --websocket --deflate --echo`;

type Mode = 'stdio' | 'echo' | 'exec';

/** Runs `listen`; resolves with the exit status (with `--once` or in stdio mode; otherwise runs until stopped). */
export async function runListen(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, LISTEN_FLAGS);
  if (answeredHelpOrVersion(args, LISTEN_HELP)) return 0;
  if (args.positionals.length > 1) throw usage(`unexpected argument "${args.positionals[1]}"`);
  const target = parseAddress(args.positionals[0], true);
  oneOf(args, ['echo', 'exec']);
  oneOf(args, ['keep-open', 'once']);
  const command = valueOf(args, 'exec');
  const mode: Mode = command !== undefined ? 'exec' : has(args, 'echo') ? 'echo' : 'stdio';
  const transfer = transferFrom(args);
  if (mode !== 'stdio' && (transfer.sendOnly || transfer.recvOnly)) {
    throw usage('--send-only and --recv-only are about standard input and output: not with --echo or --exec');
  }
  const keepOpen = has(args, 'keep-open');
  // Standard input and output serve one connection, unless shared (--keep-open).
  const once = has(args, 'once') || (mode === 'stdio' && !keepOpen);
  const quiet = has(args, 'quiet');
  const tags = new ConnectionTags();
  const { filters, names, selfSigned, verifyClients } = await stackFromFlags(args, 'server', { tagOf: (remote) => tags.of(remote) });
  const askedForCert = has(args, 'verify') || has(args, 'require-client-cert');
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`wirestack: ${line}\n`);
  };
  const stdio = mode === 'stdio' ? stdioFor(transfer, keepOpen) : undefined;

  let listener: Listener | undefined;
  let accepted = 0;
  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => { finish = resolve; });

  const serve = async (conn: Connection): Promise<void> => {
    const tag = tags.of(conn.remote);
    if (once && ++accepted > 1) {
      conn.destroy();
      return;
    }
    // Stop accepting at once: the one connection is taken.
    const closing = once ? listener?.close() : undefined;
    const peer = peerOf(conn.remote, target);
    say(`${tag} connection ${'path' in target ? 'on' : 'from'} ${peer}`);
    let status = 0;
    try {
      if (has(args, 'tls')) {
        // Nothing is sent or run before the handshake is done, so that its failure is the one reported.
        const info = await conn.secured;
        if (verifyClients) refuseUnverified(info);
        say(`${tag} ${describeServerSession(info, askedForCert)}`);
      }
      if (stdio) await stdio.serve(conn, transfer);
      else if (mode === 'echo') await echo(conn, transfer.idleTimeoutMs);
      else {
        const outcome = await execute(conn, command!, transfer);
        status = outcome.status;
        if (outcome.error) process.stderr.write(`${failureLine('listen', outcome.error, `${tag} ${peer}`)}\n`);
        else if (status !== 0) process.stderr.write(`wirestack: ${tag} ${command} exited with status ${status}\n`);
      }
      say(`${tag} closed`);
    } catch (err) {
      status = 1;
      conn.destroy();
      process.stderr.write(`${failureLine('listen', err, `${tag} ${peer}`)}\n`);
    }
    if (once) {
      await closing;
      finish(status);
    }
  };

  const webSocket = has(args, 'websocket');
  const opened = await listen(webSocket ? { ...target, webSocket: true } : target, filters, serve);
  listener = opened;
  closeOnSignals(() => opened.close({ drain: false }));
  // Failures of the listener itself (not of a connection, which serve() reports).
  opened.on('connectionError', (err: WirestackError, conn: Connection | undefined) => {
    if (conn === undefined) process.stderr.write(`${failureLine('listen', err)}\n`);
  });
  const address = opened.address();
  const where = 'path' in address ? `unix:${address.path}` : describeTarget({ host: address.host, port: address.port });
  // The certificate line comes first: whoever waits for "listening on" has seen it then.
  if (selfSigned !== undefined) say(`throwaway certificate for localhost, 127.0.0.1, ::1; SHA-256 ${selfSigned}`);
  process.stderr.write(`wirestack: listening on ${webSocket ? `ws://${where}/` : where}${names.length ? ` (stack: ${names.join(' → ')})` : ''}\n`);
  return finished;
}

// Each accepted connection's number, by its remote: the listener gives
// every connection a remote object of its own, and the stack's layers see
// that same object, so a log layer finds its connection's number when it
// is made, before the connection reaches serve().
class ConnectionTags {
  readonly #numbers = new WeakMap<RemoteInfo, number>();
  #count = 0;

  of(remote: RemoteInfo): string {
    let n = this.#numbers.get(remote);
    if (n === undefined) {
      n = ++this.#count;
      this.#numbers.set(remote, n);
    }
    return `#${n}`;
  }
}

function peerOf(remote: RemoteInfo, target: Target): string {
  if ('path' in target) return `unix:${target.path}`;
  // A client that resets at once is gone before its address can be read.
  return remote.host ? describeTarget({ host: remote.host, port: remote.port ?? 0 }) : 'unknown peer';
}

// --verify takes a client without a certificate, and refuses one whose certificate does not verify.
function refuseUnverified(info: SecureInfo): void {
  if (!info.peerCertificate || info.authorized) return;
  const [, code, message] = /^(ERR_WIRESTACK_\w+): (.*)$/s.exec(info.authorizationError ?? '') ?? [];
  throw new WirestackError((code ?? 'ERR_WIRESTACK_TLS_CERT_INVALID') as ErrorCode,
    `refused the client's certificate: ${message ?? info.authorizationError ?? 'not verified'}`, { layer: 'tls' });
}

// How connections are joined to standard input and output.
interface Stdio {
  serve(conn: Connection, transfer: Transfer): Promise<void>;
}

function stdioFor(transfer: Transfer, keepOpen: boolean): Stdio {
  const output = transfer.sendOnly ? null : process.stdout;
  const idle = transfer.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: transfer.idleTimeoutMs };
  if (!keepOpen) {
    return { serve: (conn) => relay(conn, transfer.recvOnly ? null : process.stdin, output, { progress: new Progress(process.stderr), ...idle }) };
  }
  // Standard output is shared by the connections and outlives each; an
  // error it reports after a connection's relay is done must not crash the command.
  process.stdout.on('error', () => {});
  process.stdout.setMaxListeners(0);
  const broadcast = transfer.recvOnly ? undefined : new Broadcast(process.stdin);
  return {
    async serve(conn) {
      const input: PassThrough | null = broadcast?.add() ?? null;
      // The peer's end closes our side of its connection, after what it was already given.
      if (input) conn.once('end', () => broadcast!.close(input));
      try {
        await relay(conn, input, output, { sharedOutput: true, ...idle });
      } finally {
        if (input) broadcast!.close(input);
      }
    },
  };
}

// Sends back everything; the peer's end ends ours, after the last byte.
function echo(conn: Connection, idleTimeoutMs: number | undefined): Promise<void> {
  if (idleTimeoutMs !== undefined) watchIdle(conn, idleTimeoutMs);
  return new Promise((resolve, reject) => {
    conn.pipe(conn);
    conn.once('error', reject);
    conn.once('close', () => {
      if (conn.readableEnded && conn.writableFinished) resolve();
      else reject(conn.errored ?? closedEarly());
    });
  });
}

function closedEarly(): WirestackError {
  return new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE', 'the connection closed before both sides had ended', { layer: 'connection' });
}

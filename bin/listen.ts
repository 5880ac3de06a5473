/**
 * `wirestack listen [HOST:]PORT [flags]`: accepts connections and serves
 * each through the stack the flags describe: joined to stdin/stdout (the
 * default, one connection, like `nc -l`), echoed (`--echo`), or piped into a
 * child process per connection (`--exec CMD`, like `ncat --exec`).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Connection } from '../lib/connection.js';
import { WirestackError, toWirestackError } from '../lib/errors.js';
import { listen, type Listener } from '../lib/listener.js';
import { formatFlags, has, parseArgs, usage, valueOf, type FlagSpec } from './args.js';
import { describeTarget } from '../lib/connect.js';
import { parseHostPort } from './address.js';
import { Progress } from './progress.js';
import { relay } from './relay.js';
import { EXIT_STATUS_HELP, failureLine } from './report.js';
import { LAYER_FLAGS, SERVER_TLS_FLAGS, stackFromFlags } from './stack-from-flags.js';

const MODE_FLAGS: readonly FlagSpec[] = [
  { name: 'echo', value: 'none', help: 'send back what each connection sends' },
  { name: 'exec', value: 'required', placeholder: 'CMD', help: "run CMD (with sh -c) per connection, joined to the connection's bytes" },
  { name: 'once', value: 'none', help: 'serve one connection, then exit with its outcome' },
];

const OWN_FLAGS: readonly FlagSpec[] = [
  { name: 'websocket', value: 'none', help: 'accept WebSockets (binary messages) instead of TCP: what webSocket() in a browser connects to' },
  { name: 'quiet', short: 'q', value: 'none', help: 'print nothing on stderr but the address, failures (and --log output)' },
  { name: 'help', short: 'h', value: 'none', help: 'show this help' },
];

/** Every flag `listen` takes. */
export const LISTEN_FLAGS: readonly FlagSpec[] = [...LAYER_FLAGS, ...SERVER_TLS_FLAGS, ...MODE_FLAGS, ...OWN_FLAGS];

/** `wirestack listen --help`. */
export const LISTEN_HELP = `Usage: wirestack listen [HOST:]PORT [flags]

Listens on PORT (all interfaces unless HOST is given; port 0 picks a free
one) and prints the address bound on stderr ("listening on HOST:PORT").
Without --echo or --exec, one connection is joined to standard input and
output, like nc -l: standard input is sent and what arrives is printed, each
direction until its own end (one side's end does not stop the other), and
the command exits when both have ended. Connections' failures are printed on
stderr, one line each.

Exit status, with --once or without --echo and --exec (otherwise the command
serves until it is stopped):
${EXIT_STATUS_HELP}
  S  with --exec, the command's exit status S (128+N if signal N killed it)

Layers, lowest first, in the order given:
${formatFlags(LAYER_FLAGS, LISTEN_FLAGS)}

TLS:
${formatFlags(SERVER_TLS_FLAGS, LISTEN_FLAGS)}

What to do with each connection:
${formatFlags(MODE_FLAGS, LISTEN_FLAGS)}

Other:
${formatFlags(OWN_FLAGS, LISTEN_FLAGS)}

Examples:
  wirestack listen 127.0.0.1:8443 --tls --self-signed --echo
  wirestack listen 8443 --tls --cert cert.pem --key key.pem --log --exec 'tr a-z A-Z'
  wirestack listen 127.0.0.1:8080 --websocket --deflate --echo`;

type Mode = 'stdio' | 'echo' | 'exec';

/** Runs `listen`; resolves with the exit status (with `--once` or in stdio mode; otherwise runs until killed). */
export async function runListen(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, LISTEN_FLAGS);
  if (has(args, 'help')) {
    process.stdout.write(`${LISTEN_HELP}\n`);
    return 0;
  }
  if (args.positionals.length > 1) throw usage(`unexpected argument "${args.positionals[1]}"`);
  const { host, port } = parseHostPort(args.positionals[0], true);
  const command = valueOf(args, 'exec');
  if (command !== undefined && has(args, 'echo')) throw usage('give --echo or --exec, not both');
  const mode: Mode = command !== undefined ? 'exec' : has(args, 'echo') ? 'echo' : 'stdio';
  // Standard input and output can serve only one connection.
  const once = mode === 'stdio' || has(args, 'once');
  const quiet = has(args, 'quiet');
  const { filters, names, selfSigned } = await stackFromFlags(args, 'server');
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`wirestack: ${line}\n`);
  };

  let listener: Listener | undefined;
  let accepted = 0;
  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => { finish = resolve; });

  const serve = async (conn: Connection): Promise<void> => {
    // A client that resets at once is gone before its address can be read.
    const peer = conn.remote.host ? describeTarget({ host: conn.remote.host, port: conn.remote.port ?? 0 }) : 'unknown peer';
    if (once && ++accepted > 1) {
      conn.destroy();
      return;
    }
    // Stop accepting at once: the one connection is taken.
    const closing = once ? listener?.close() : undefined;
    say(`connection from ${peer}`);
    let status = 0;
    try {
      if (mode === 'stdio') await relay(conn, process.stdin, process.stdout, { progress: new Progress(process.stderr) });
      else if (mode === 'echo') await echo(conn);
      else status = await execute(conn, command!, peer);
      say(`${peer} closed`);
    } catch (err) {
      status = 1;
      process.stderr.write(`${failureLine('listen', toWirestackError(err, 'connection'), peer)}\n`);
    }
    if (once) {
      await closing;
      finish(status);
    }
  };

  const webSocket = has(args, 'websocket');
  listener = await listen({ ...(host === undefined ? {} : { host }), port, webSocket }, filters, serve);
  // Failures of the listener itself (not of a connection, which serve() reports).
  listener.on('connectionError', (err: WirestackError, conn: Connection | undefined) => {
    if (conn === undefined) process.stderr.write(`${failureLine('listen', err)}\n`);
  });
  const address = listener.address();
  const where = 'path' in address ? address.path : describeTarget({ host: address.host, port: address.port });
  // The certificate line comes first: whoever waits for "listening on" has seen it then.
  if (selfSigned !== undefined) say(`throwaway certificate for localhost, 127.0.0.1, ::1; SHA-256 ${selfSigned}`);
  process.stderr.write(`wirestack: listening on ${webSocket ? `ws://${where}/` : where}${names.length ? ` (stack: ${names.join(' → ')})` : ''}\n`);
  return finished;
}

// Sends back everything; the peer's end ends ours, after the last byte.
function echo(conn: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.pipe(conn);
    conn.once('error', reject);
    conn.once('close', () => {
      if (conn.readableEnded && conn.writableFinished) resolve();
      else reject(conn.errored ?? closedEarly());
    });
  });
}

// One child per connection: the connection's bytes are its stdin, its
// stdout goes back; its stderr is ours. The child's end of output closes
// our side; the peer's end closes the child's stdin. Resolves with the
// child's exit status once both directions have ended and the child has
// exited; a child killed by a signal is reported, with the shell's 128 + N.
async function execute(conn: Connection, command: string, peer: string): Promise<number> {
  const child = spawn(command, {
    shell: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, WIRESTACK_REMOTE_ADDR: conn.remote.host ?? '', WIRESTACK_REMOTE_PORT: String(conn.remote.port ?? '') },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A child that cannot be started fails the connection, which the relay reports.
  child.once('error', (err) => conn.destroy(new WirestackError('ERR_WIRESTACK_EXEC',
    `cannot run ${command}: ${err.message}`, { layer: 'cli', cause: err })));
  try {
    await relay(conn, child.stdout, child.stdin, {
      endOutput: true,
      onOutputGone: 'discard',
      names: { input: `the output of ${command}`, output: `the input of ${command}` },
    });
  } catch (err) {
    child.kill();
    throw err;
  }
  const { code, signal } = await exited;
  if (signal !== null) {
    const error = new WirestackError('ERR_WIRESTACK_EXEC', `${command} was killed by ${signal}`, { layer: 'cli' });
    process.stderr.write(`${failureLine('listen', error, peer)}\n`);
    return 128 + (constants.signals[signal] ?? 0);
  }
  if (code !== 0) process.stderr.write(`wirestack: ${peer}: ${command} exited with status ${code}\n`);
  return code ?? 1;
}

function closedEarly(): WirestackError {
  return new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE', 'the connection closed before both sides had ended', { layer: 'connection' });
}

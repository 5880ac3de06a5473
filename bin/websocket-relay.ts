/**
 * `wirestack relay --websocket [HOST:]PORT --to HOST:PORT`: accepts
 * WebSockets and joins each to a new TCP connection to the target, the way
 * websockify does (binary messages; its "binary" subprotocol), so a browser
 * stack can reach any TCP service. The relay moves bytes and reads none:
 * with TLS in the browser's stack, it sees only TLS records.
 *
 * Each direction runs apart, with backpressure: the WebSocket side's end
 * (its empty message) becomes the TCP FIN, and the service's FIN becomes
 * that message; the pair is done when both have ended. A failure on either
 * side tears down both, and the browser sees an abnormal close naming it.
 */
import type { Connection } from '../lib/connection.js';
import { connect } from '../lib/connect.js';
import { WirestackError, toWirestackError } from '../lib/errors.js';
import { listen } from '../lib/listener.js';
import { describeTarget } from '../lib/target.js';
import { parseHostPort } from './address.js';
import { formatFlags, has, parseArgs, usage, valueOf, type FlagSpec } from './args.js';
import { failureLine } from './report.js';

/** Every flag `relay` takes. */
export const RELAY_FLAGS: readonly FlagSpec[] = [
  { name: 'websocket', value: 'none', help: 'accept WebSockets (binary messages) on [HOST:]PORT: the only kind of relay so far, so required' },
  { name: 'to', value: 'required', placeholder: 'HOST:PORT', help: 'the TCP service each WebSocket is joined to' },
  { name: 'path', value: 'required', placeholder: 'PATH', help: 'accept WebSockets on this URL path only (default: any)' },
  { name: 'quiet', short: 'q', value: 'none', help: 'print nothing on stderr but the address and failures' },
  { name: 'help', short: 'h', value: 'none', help: 'show this help' },
];

/** `wirestack relay --help`. */
export const RELAY_HELP = `Usage: wirestack relay --websocket [HOST:]PORT --to HOST:PORT [flags]

Accepts WebSocket connections on PORT (all interfaces unless HOST is given;
port 0 picks a free one), prints "listening on ws://HOST:PORT/" on stderr,
and joins each one to a new TCP connection to --to, as websockify does: a
browser's webSocket() stack reaches any TCP service through it, TLS inside.
The relay reads no byte. An empty WebSocket message and the TCP FIN stand
for each other (a half-close each way); a failure on either side closes both.
Runs until stopped.

Flags:
${formatFlags(RELAY_FLAGS)}

Examples:
  wirestack relay --websocket 127.0.0.1:8080 --to 127.0.0.1:5432
  wirestack relay --websocket 8080 --to mail.example.com:993 --path /imap`;

/** Runs `relay`; resolves only for --help (otherwise it serves until killed). */
export async function runRelay(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, RELAY_FLAGS);
  if (has(args, 'help')) {
    process.stdout.write(`${RELAY_HELP}\n`);
    return 0;
  }
  if (!has(args, 'websocket')) throw usage('give --websocket: the relay accepts WebSockets (see wirestack relay --help)');
  if (args.positionals.length !== 1) throw usage(args.positionals.length === 0 ? 'expected [HOST:]PORT to listen on' : `unexpected argument "${args.positionals[1]}"`);
  const { host, port } = parseHostPort(args.positionals[0], true);
  const to = valueOf(args, 'to');
  if (to === undefined) throw usage('give --to HOST:PORT, the TCP service to relay to');
  const target = parseHostPort(to, false);
  const path = valueOf(args, 'path');
  const quiet = has(args, 'quiet');
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`wirestack: ${line}\n`);
  };
  const service = describeTarget({ host: target.host!, port: target.port });

  const serve = async (client: Connection): Promise<void> => {
    const peer = describeTarget({ host: client.remote.host ?? '', port: client.remote.port ?? 0 });
    try {
      const upstream = await connect({ host: target.host!, port: target.port }, []);
      say(`${peer} → ${service}`);
      await join(client, upstream);
      say(`${peer} closed`);
    } catch (err) {
      const error = toWirestackError(err, 'relay');
      // The WebSocket closes abnormally, its reason the code, so the browser learns why
      // (a connection's teardown destroys its raw stream without the error).
      client.raw.stream.destroy(error);
      client.destroy(error);
      process.stderr.write(`${failureLine('relay', error, peer)}\n`);
    }
  };

  const listener = await listen({ ...(host === undefined ? {} : { host }), port, webSocket: path === undefined ? true : { path } }, [], serve);
  listener.on('connectionError', (err: WirestackError, conn: Connection | undefined) => {
    if (conn === undefined) process.stderr.write(`${failureLine('relay', err)}\n`);
  });
  const address = listener.address();
  const where = 'path' in address ? address.path : describeTarget({ host: address.host, port: address.port });
  process.stderr.write(`wirestack: listening on ws://${where}${path ?? '/'} (relay to ${service})\n`);
  return new Promise<number>(() => {});
}

// Joins two connections both ways, each direction to its own end; resolves
// when both are closed cleanly, rejects (both destroyed) on any failure.
function join(a: Connection, b: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    let open = 2;
    const fail = (err: Error): void => {
      // The raw streams go down with the error, so the WebSocket's close names it.
      for (const side of [a, b]) {
        side.raw.stream.destroy(err);
        side.destroy(err);
      }
      reject(err);
    };
    for (const [from, to] of [[a, b], [b, a]] as const) {
      from.pipe(to);
      from.once('error', fail);
      from.once('close', () => {
        if (!from.readableEnded || !from.writableFinished) {
          fail(from.errored ?? new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE', 'a side closed before both had ended', { layer: 'relay' }));
        } else if (--open === 0) {
          resolve();
        }
      });
    }
  });
}

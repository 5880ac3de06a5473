/**
 * `--exec CMD` of `connect` and `listen`, like `ncat --exec`: a child
 * process joined to one connection. The connection's bytes are its stdin,
 * its stdout goes back, its stderr is ours.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { WirestackError, type Connection } from '../lib/index.js';
import { relay, type RelayOptions } from './relay.js';

/** What became of the child: its exit status, and a line to print about it, if any. */
export interface ExecOutcome {
  /** The child's exit status; 128 + N when signal N killed it (as a shell reports it). */
  readonly status: number;
  /** A failure to report (killed by a signal), or undefined. */
  readonly error: WirestackError | undefined;
}

/**
 * Runs `sh -c command` joined to `conn`. The child's end of output closes
 * our side; the peer's end closes the child's stdin. Resolves once both
 * directions have ended and the child has exited; rejects (the child
 * killed) when the relay fails.
 */
export async function execute(conn: Connection, command: string, options: Pick<RelayOptions, 'idleTimeoutMs'> = {}): Promise<ExecOutcome> {
  const child = spawn(command, {
    shell: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, WIRESTACK_REMOTE_ADDR: conn.remote.host ?? conn.remote.path ?? '', WIRESTACK_REMOTE_PORT: String(conn.remote.port ?? '') },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A child that cannot be started fails the connection, which the relay reports.
  child.once('error', (err) => conn.destroy(new WirestackError('ERR_WIRESTACK_EXEC',
    `cannot run ${command}: ${err.message}`, { layer: 'cli', cause: err })));
  try {
    await relay(conn, child.stdout, child.stdin, {
      ...options,
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
    return {
      status: 128 + (constants.signals[signal] ?? 0),
      error: new WirestackError('ERR_WIRESTACK_EXEC', `${command} was killed by ${signal}`, { layer: 'cli' }),
    };
  }
  return { status: code ?? 1, error: undefined };
}

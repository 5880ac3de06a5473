/**
 * Joins a connection to a pair of byte streams (the process's stdin and
 * stdout, or a child's), with backpressure both ways and a real half-close:
 * the two directions run apart. The input's end closes our sending side
 * once its last byte is written; the peer's end closes the output; the
 * relay is done when both have happened, in either order. Whatever stops a
 * direction before its end is a failure, never a quiet success.
 */
import { Socket } from 'node:net';
import { finished, type Writable } from 'node:stream';
import { WirestackError, type Connection } from '../lib/index.js';
import type { Progress } from './progress.js';
import { coded } from './report.js';

/** The part of a readable the relay uses (process.stdin, a child's stdout). */
export type RelayInput = NodeJS.ReadableStream;
/** The part of a writable the relay uses (process.stdout, a child's stdin). */
export type RelayOutput = NodeJS.WritableStream;

/** Options for {@link relay}. */
export interface RelayOptions {
  /** Counts the bytes each way (and shows them, on a terminal). */
  progress?: Progress;
  /** End `output` when the peer ends (a child's stdin: yes; process.stdout: no). */
  endOutput?: boolean;
  /**
   * When the output's reader goes away (EPIPE: `… | head`): `'stop'` ends
   * the relay quietly, as a Unix filter would; `'discard'` drops what still
   * comes (a child that stopped reading may still have words for the peer).
   */
  onOutputGone?: 'stop' | 'discard';
  /** What the input and output are, for messages (default: standard input and output). */
  names?: { input: string; output: string };
  /** Fail with `ERR_WIRESTACK_IDLE_TIMEOUT` when nothing moves either way for this many milliseconds. */
  idleTimeoutMs?: number;
  /**
   * The output outlives the relay (stdout under `listen --keep-open`): its
   * listeners are removed when the relay is done, and its owner keeps an
   * `'error'` listener of its own for the errors that come later.
   */
  sharedOutput?: boolean;
}

/**
 * Resolves when both directions have ended cleanly: the input read to its
 * end and our side closed after it, the peer's end received and every byte
 * taken by the output. Rejects with a coded error otherwise, with the
 * connection destroyed.
 *
 * Without an input (`null`, ncat's `--recv-only`) nothing is sent and our
 * side closes only after the peer's end. Without an output (`null`,
 * `--send-only`) what arrives is discarded, and the relay is done once the
 * input is sent and our side closed, without waiting for the peer's end.
 */
export function relay(conn: Connection, input: RelayInput | null, output: RelayOutput | null, options: RelayOptions = {}): Promise<void> {
  const { progress, endOutput = false, onOutputGone = 'stop', idleTimeoutMs, sharedOutput = false } = options;
  const names = options.names ?? { input: 'standard input', output: 'standard output' };
  return new Promise<void>((resolve, reject) => {
    // Set once: the first outcome wins; later events find it set and do nothing.
    let settled = false;
    // Set when the output's reader went away (EPIPE, or the output closed); what still arrives is dropped.
    let outputGone = output === null;
    // Set when the relay has ended the output (endOutput, after the peer's end).
    let outputEnded = false;
    if (idleTimeoutMs !== undefined) watchIdle(conn, idleTimeoutMs, input);

    const settle = (err: unknown): void => {
      if (settled) return;
      settled = true;
      input?.off('data', onInputData);
      input?.pause();
      if (sharedOutput) {
        output?.off('error', onOutputError);
        output?.off('close', onOutputClose);
        output?.off('drain', onOutputDrain);
      }
      progress?.done();
      if (err === null) {
        resolve();
        return;
      }
      // Nothing more can move: the whole stack goes down, and the peer sees it.
      conn.destroy();
      reject(coded(err));
    };

    // ── input → connection ──
    const onInputData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      progress?.addSent(bytes.length);
      if (!conn.write(bytes)) {
        input!.pause();
        conn.once('drain', () => {
          if (!settled) input!.resume();
        });
      }
    };
    if (input) {
      input.on('data', onInputData);
      // The peer's end does not stop this direction: it may still be reading.
      input.once('end', () => {
        const closing = conn.close();
        closing.catch(settle);
        // Send-only: done once our side is closed; what the peer still sends is not wanted.
        if (!output) void closing.then(() => {
          settle(null);
          conn.destroy();
        });
      });
      input.on('error', (err: Error) => settle(stdioError(`cannot read ${names.input}`, err)));
    } else {
      // Receive-only: our side closes once the peer has said everything.
      conn.once('end', () => conn.close().catch(settle));
    }

    // ── connection → output ──
    // Its reader went away on purpose (`… | head`, a child that exited
    // without reading all): stop quietly, or go on without it.
    const outputGoneAway = (): void => {
      if (outputGone) return;
      outputGone = true;
      conn.resume();
      if (onOutputGone === 'stop') {
        conn.destroy();
        settle(null);
      }
    };
    const onOutputError = (err: NodeJS.ErrnoException): void => {
      if (READER_GONE.has(err.code ?? '')) outputGoneAway();
      else settle(stdioError(`cannot write ${names.output}`, err));
    };
    const onOutputDrain = (): void => {
      conn.resume();
    };
    // A child's stdin is destroyed, with no error, when the child exits;
    // a write then would wait for a 'drain' that never comes.
    const onOutputClose = (): void => {
      if (!outputEnded) outputGoneAway();
    };
    conn.on('data', (chunk: Buffer) => {
      progress?.addReceived(chunk.length);
      if (outputGone) return;
      if (!output!.write(chunk)) {
        conn.pause();
        output!.once('drain', onOutputDrain);
      }
    });
    if (output) {
      output.on('error', onOutputError);
      output.once('close', onOutputClose);
      conn.once('end', () => {
        if (!endOutput || outputGone) return;
        outputEnded = true;
        output.end();
      });
    }

    // ── both ──
    conn.on('error', settle);
    conn.once('close', () => {
      if (!conn.readableEnded || !conn.writableFinished) {
        // Closed with no error before both sides ended: the stream below went away mid-stream.
        settle(conn.errored ?? new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE',
          'the connection closed before both sides had ended', { layer: 'connection' }));
        return;
      }
      // Done only when the output has taken the last byte: a write that fails
      // now (a full disk) is still a failure.
      const flushed = (err?: Error | null): void => {
        if (err) onOutputError(err);
        settle(null);
      };
      if (outputGone) settle(null);
      else if (endOutput) finished(output as Writable, { readable: false }, flushed);
      else output!.write('', flushed);
    });
  });
}

/**
 * Destroys `conn` with `ERR_WIRESTACK_IDLE_TIMEOUT` when no byte has moved
 * for `ms`: none received, and none read from `input` to be sent (the
 * connection's own reads count where there is no input). A TCP peer gets a
 * reset, not a FIN: it is an abort, not the end of what we had to say.
 */
export function watchIdle(conn: Connection, ms: number, input?: RelayInput | null): void {
  let timer: NodeJS.Timeout | undefined;
  const moved = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const raw = conn.raw.stream;
      if (raw instanceof Socket && !raw.destroyed) raw.resetAndDestroy();
      conn.destroy(new WirestackError('ERR_WIRESTACK_IDLE_TIMEOUT', `nothing moved either way for ${ms} ms (--idle-timeout)`, { layer: 'cli' }));
    }, ms);
  };
  moved();
  conn.on('data', moved);
  input?.on('data', moved);
  conn.once('close', () => {
    clearTimeout(timer);
    input?.off('data', moved);
  });
}

// What a write fails with when the output's reader has gone away.
const READER_GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE']);

function stdioError(what: string, err: NodeJS.ErrnoException): WirestackError {
  return new WirestackError('ERR_WIRESTACK_STDIO', `${what}: ${err.message}`, { layer: 'cli', cause: err });
}

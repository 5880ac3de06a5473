/**
 * Joins a connection to a pair of byte streams (the process's stdin and
 * stdout, or a child's), with backpressure both ways and a real half-close:
 * the input's end closes our sending side, and the relay goes on printing
 * until the peer ends its side.
 */
import { WirestackError, toWirestackError } from '../lib/errors.js';
import type { Connection } from '../lib/connection.js';
import type { Progress } from './progress.js';

/** The part of a readable the relay uses (process.stdin, a child's stdout). */
export type RelayInput = NodeJS.ReadableStream & { destroyed?: boolean };
/** The part of a writable the relay uses (process.stdout, a child's stdin). */
export type RelayOutput = NodeJS.WritableStream;

/** Options for {@link relay}. */
export interface RelayOptions {
  /** Counts the bytes each way (and shows them, on a terminal). */
  progress?: Progress;
  /** End `output` when the peer ends (a child's stdin: yes; process.stdout: no). */
  endOutput?: boolean;
  /**
   * When the peer ends first: `'close'` stops reading the input and closes
   * our side (what `nc` does); `'drain'` sends the rest of the input first
   * (for a child process, whose last words should still reach the peer).
   */
  onPeerEnd?: 'close' | 'drain';
  /**
   * When the output's reader goes away (EPIPE: `… | head`): `'stop'` ends
   * the relay quietly, as a Unix filter would; `'discard'` drops what still
   * comes (a child that stopped reading may still have words for the peer).
   */
  onOutputGone?: 'stop' | 'discard';
}

/**
 * Resolves when both directions have ended cleanly: our side closed (after
 * the input's end, or the peer's) and the peer's end received. Rejects with
 * the connection's coded error otherwise.
 */
export function relay(conn: Connection, input: RelayInput, output: RelayOutput, options: RelayOptions = {}): Promise<void> {
  const { progress, endOutput = false, onPeerEnd = 'close', onOutputGone = 'stop' } = options;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err: unknown): void => {
      if (settled) return;
      settled = true;
      stopInput();
      progress?.done();
      if (err === null) resolve();
      else reject(toWirestackError(err, 'connection'));
    };

    // ── input → connection ──
    const onInputData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      progress?.addSent(bytes.length);
      if (!conn.write(bytes)) {
        input.pause();
        conn.once('drain', () => input.resume());
      }
    };
    const onInputEnd = (): void => {
      conn.close().catch(settle);
    };
    const onInputError = (err: Error): void => {
      conn.destroy();
      settle(err);
    };
    const stopInput = (): void => {
      input.off('data', onInputData);
      input.off('end', onInputEnd);
      input.pause();
    };
    input.on('data', onInputData);
    input.once('end', onInputEnd);
    input.on('error', onInputError);

    // ── connection → output ──
    let outputGone = false;
    conn.on('data', (chunk: Buffer) => {
      progress?.addReceived(chunk.length);
      if (outputGone) return;
      if (!output.write(chunk)) {
        conn.pause();
        output.once('drain', () => conn.resume());
      }
    });
    output.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') {
        conn.destroy();
        settle(err);
        return;
      }
      outputGone = true;
      conn.resume();
      if (onOutputGone === 'stop') {
        conn.destroy();
        settle(null);
      }
    });
    // With 'drain', the input's own end closes our side later, and 'close' settles.
    conn.once('end', () => {
      if (endOutput && !outputGone) output.end();
      if (onPeerEnd === 'close') {
        stopInput();
        conn.close().then(() => settle(null), settle);
      }
    });
    conn.on('error', settle);
    conn.once('close', () => {
      if (conn.readableEnded && conn.writableFinished) {
        settle(null);
        return;
      }
      // Closed with no error before both sides ended: the stream below went away mid-stream.
      settle(conn.errored ?? new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE',
        'the connection closed before both sides had ended', { layer: 'connection' }));
    });
  });
}

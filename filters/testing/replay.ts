import { WirestackError } from '../../lib/errors.js';
import { Duplex } from '../../lib/stream.js';
import type { Transcript } from './record.js';

/** Options for {@link replay}. */
export interface ReplayOptions {
  /**
   * When each recorded `'in'` chunk is handed to the protocol under test:
   * `'writes'` (default) once it has written as many bytes as the recorded
   * end had written before that chunk arrived — the recorded conversation's
   * turn-taking, with no timing; `'eager'` all at once, in order.
   */
  pace?: 'writes' | 'eager';
  /** Fail with `ERR_WIRESTACK_FAULT` as soon as a written byte differs from the recording. */
  strict?: boolean;
  /** End the stream after the last recorded chunk even if the recording had no end (default false). */
  end?: boolean;
}

/**
 * A raw connection that plays the recorded end's peer: it hands the protocol
 * under test the bytes the recorded end read (the transcript's `'in'`
 * entries), in the recorded order and turns, and collects what the protocol
 * writes in {@link ReplayStream.written}. Deterministic: recorded times are
 * not used.
 *
 * @example
 * ```ts
 * // The server's answers, captured once with record(), fed to my client again.
 * const raw = replay(recorder.transcript, { strict: true });
 * const conn = wrap(raw, [], { role: 'client' });
 * expect(await myClient(conn)).toEqual(expectedResult);
 * ```
 */
export function replay(transcript: Transcript, options: ReplayOptions = {}): ReplayStream {
  return new ReplayStream(transcript, options);
}

/** The stream {@link replay} returns. */
export class ReplayStream extends Duplex {
  // The chunks to hand out: bytes (null for the end) and how many bytes the
  // protocol must have written first.
  readonly #script: Array<{ bytes: Buffer | null; after: number }> = [];
  // The recorded end's writes, for strict comparison.
  readonly #expected: Buffer;
  readonly #options: ReplayOptions;
  // Index of the next script entry to hand out.
  #next = 0;
  // What the protocol under test has written so far.
  readonly #written: Buffer[] = [];
  #writtenBytes = 0;
  // Set once push(null) has been called.
  #ended = false;

  /** @internal Use {@link replay}. */
  constructor(transcript: Transcript, options: ReplayOptions) {
    super({ allowHalfOpen: true });
    this.#options = options;
    const out: Buffer[] = [];
    let wrote = 0;
    for (const entry of transcript.entries) {
      if (entry.direction === 'out') {
        if (entry.bytes) {
          out.push(entry.bytes);
          wrote += entry.bytes.length;
        }
      } else {
        this.#script.push({ bytes: entry.bytes, after: wrote });
      }
    }
    if (options.end && this.#script.at(-1)?.bytes !== null) this.#script.push({ bytes: null, after: wrote });
    this.#expected = Buffer.concat(out);
  }

  /** Everything the protocol under test wrote, in one buffer. */
  get written(): Buffer {
    return Buffer.concat(this.#written, this.#writtenBytes);
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const at = this.#writtenBytes;
    this.#written.push(chunk);
    this.#writtenBytes += chunk.length;
    if (this.#options.strict) {
      const expected = this.#expected.subarray(at, at + chunk.length);
      let differs = firstDifference(chunk.subarray(0, expected.length), expected);
      if (differs < 0 && chunk.length > expected.length) differs = expected.length;
      if (differs >= 0) {
        callback(new WirestackError('ERR_WIRESTACK_FAULT',
          `replay: the protocol wrote something else than the recording at byte ${at + differs}`, { layer: 'replay' }));
        return;
      }
    }
    callback();
    this.#handOut();
  }

  /** Node's stream hook, called by the stream machinery. @hidden */
  override _read(): void {
    this.#handOut();
  }

  // Pushes every script entry whose turn has come, while the reader has room.
  #handOut(): void {
    const eager = this.#options.pace === 'eager';
    while (!this.#ended && this.#next < this.#script.length) {
      const entry = this.#script[this.#next]!;
      if (!eager && this.#writtenBytes < entry.after) return;
      this.#next++;
      if (entry.bytes === null) {
        this.#ended = true;
        this.push(null);
        return;
      }
      if (!this.push(entry.bytes)) return;
    }
  }
}

// The index of the first byte where a and b (of equal length) differ, or -1.
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

import type { Filter, Role } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import type { Duplex } from '../../lib/stream.js';

/** One event of a {@link Transcript}. */
export interface TranscriptEntry {
  /** `'in'`: bytes the recorded end read from below (the peer sent them); `'out'`: bytes it wrote down. */
  readonly direction: 'in' | 'out';
  /** The bytes, as one chunk went by; `null` for the end of that direction. */
  readonly bytes: Buffer | null;
  /** Milliseconds since the layer was made. */
  readonly at: number;
}

/** What {@link record} captured on one connection, in the order it happened. */
export interface Transcript {
  /** The role of the connection that was recorded. */
  readonly role: Role;
  /** Every chunk each way, in the order it crossed. */
  readonly entries: TranscriptEntry[];
}

/**
 * A filter that records every chunk passing through it, both ways, without
 * changing anything. One recorder may serve many connections: each gets its
 * own transcript.
 */
export interface Recorder extends Filter {
  /** One transcript per connection the recorder was applied to, in order. */
  readonly transcripts: readonly Transcript[];
  /** The transcript of the most recent connection (throws if there was none). */
  readonly transcript: Transcript;
}

/**
 * Makes a {@link Recorder}: capture a real session once, then test a
 * protocol against it with {@link replay}, with no peer and no timing.
 * Placed below a layer (`[record(), tls.client()]`) it captures that layer's
 * wire bytes; placed on top, the application's.
 *
 * @example
 * ```ts
 * // Capture what my client says to a real server...
 * const recorder = record();
 * const conn = await connect({ host: '127.0.0.1', port }, [recorder]);
 * await myClient(conn);
 * // ...and what the server answered: the 'in' entries.
 * const answers = recorder.transcript.entries.filter((e) => e.direction === 'in');
 * ```
 */
export function record(name = 'record'): Recorder {
  const transcripts: Transcript[] = [];
  return {
    name,
    transcripts,
    get transcript(): Transcript {
      const last = transcripts.at(-1);
      if (!last) throw new Error('record(): no connection has been recorded yet');
      return last;
    },
    attach(lower, ctx) {
      const transcript: Transcript = { role: ctx.role, entries: [] };
      transcripts.push(transcript);
      return new RecordLayer(lower, name, transcript);
    },
  };
}

type Callback = (err?: Error | null) => void;

/** The layer {@link record} makes. */
class RecordLayer extends Layer {
  readonly #entries: TranscriptEntry[];
  // Time zero of the transcript.
  readonly #start = performance.now();

  constructor(lower: Duplex, name: string, transcript: Transcript) {
    super(lower, { name, removable: true });
    this.#entries = transcript.entries;
  }

  #note(direction: 'in' | 'out', bytes: Buffer | null): void {
    // A copy: the writer may reuse its buffer once the write completes.
    this.#entries.push({ direction, bytes: bytes && Buffer.from(bytes), at: performance.now() - this.#start });
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    for (const chunk of chunks) this.#note('out', chunk);
    this.sendDown(chunks, done);
  }

  protected override transformIn(chunk: Buffer): void {
    this.#note('in', chunk);
    this.pushUp(chunk);
  }

  protected override finishOut(done: Callback): void {
    this.#note('out', null);
    done();
  }

  protected override finishIn(): void {
    this.#note('in', null);
    this.pushUp(null);
  }
}

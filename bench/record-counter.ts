import { type Filter, Layer } from './wirestack.js';

/** TLS record counts seen by a {@link recordCounter} layer. */
export interface RecordCounts {
  /** Records of every type. */
  records: number;
  /** Bytes on the wire (headers included). */
  bytes: number;
}

/**
 * A layer that passes bytes through and counts the TLS records coming up
 * through it: put it below a TLS layer to count what the peer put on the
 * wire. Records split across chunks are counted once.
 */
class RecordCounterLayer extends Layer {
  readonly #counts: RecordCounts;
  // Bytes of the current record's 5-byte header seen so far, and the length it gives.
  readonly #header = Buffer.alloc(5);
  #headerSeen = 0;
  // Body bytes of the current record still to come.
  #bodyLeft = 0;

  constructor(lower: ConstructorParameters<typeof Layer>[0], counts: RecordCounts) {
    super(lower, { name: 'record-counter' });
    this.#counts = counts;
  }

  protected override transformIn(chunk: Buffer): void {
    this.#counts.bytes += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= n;
        i += n;
        continue;
      }
      this.#header[this.#headerSeen++] = chunk[i++]!;
      if (this.#headerSeen === 5) {
        this.#headerSeen = 0;
        this.#bodyLeft = this.#header.readUInt16BE(3);
        this.#counts.records++;
      }
    }
    this.pushUp(chunk);
  }
}

/** A filter whose layer counts incoming TLS records into `counts`. */
export function recordCounter(counts: RecordCounts): Filter {
  return { name: 'record-counter', attach: (lower) => new RecordCounterLayer(lower, counts) };
}

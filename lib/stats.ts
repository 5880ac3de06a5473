/**
 * Byte and chunk counts for one layer, in both directions, as seen at the
 * layer's lower side. The `Layer` base class keeps them; `meter()` and
 * `conn.layers` read the same object, so nothing is counted twice.
 */
export class LayerStats {
  /** Bytes the layer has read from the stream below it. */
  bytesIn = 0;
  /** Bytes the layer has written to the stream below it. */
  bytesOut = 0;
  /** Chunks read from below. */
  chunksIn = 0;
  /** Chunks (or writev batches) written below. */
  chunksOut = 0;
  /** `performance.now()` when the layer was made. */
  readonly startedAt = performance.now();

  countIn(bytes: number): void {
    this.bytesIn += bytes;
    this.chunksIn += 1;
  }

  countOut(bytes: number): void {
    this.bytesOut += bytes;
    this.chunksOut += 1;
  }

  /** Milliseconds since the layer was made. */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }
}

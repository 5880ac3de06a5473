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

  /** Counts one chunk read from below; the {@link Layer} base calls it. */
  countIn(bytes: number): void {
    this.bytesIn += bytes;
    this.chunksIn += 1;
  }

  /** Counts one chunk or batch written below; the {@link Layer} base calls it. */
  countOut(bytes: number): void {
    this.bytesOut += bytes;
    this.chunksOut += 1;
  }

  /** Milliseconds since the layer was made. */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }
}

/** Average throughput of one layer, bytes per second each way. */
export interface Throughput {
  /** Bytes per second read from below. */
  readonly bytesInPerSecond: number;
  /** Bytes per second written below. */
  readonly bytesOutPerSecond: number;
  /** The milliseconds the averages are taken over. */
  readonly elapsedMs: number;
}

/**
 * The average throughput of a layer from its counts: bytes each way divided
 * by the time from the layer's start to `until` (a `performance.now()`
 * value; default now).
 */
export function throughput(stats: LayerStats, until: number = performance.now()): Throughput {
  const elapsedMs = Math.max(until - stats.startedAt, 0);
  const seconds = elapsedMs / 1000;
  return {
    bytesInPerSecond: seconds > 0 ? stats.bytesIn / seconds : 0,
    bytesOutPerSecond: seconds > 0 ? stats.bytesOut / seconds : 0,
    elapsedMs,
  };
}

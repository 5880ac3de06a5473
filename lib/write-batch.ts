// One batch of writes handed to a stream, as the layers hand them down.

/** The part of a Writable {@link writeBatch} uses. */
interface BatchTarget {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * Writes `chunks` to `stream` as one batch (corked, so a socket or a TLS
 * socket sends them in one `writev`, and TLS in as few records as fit),
 * leaving out empty ones, and returns whether the stream still has room.
 */
export function writeBatch(stream: BatchTarget, chunks: readonly Buffer[]): boolean {
  if (chunks.length === 1) return stream.write(chunks[0]!);
  let room = true;
  stream.cork();
  for (const chunk of chunks) if (chunk.length > 0) room = stream.write(chunk);
  stream.uncork();
  return room;
}

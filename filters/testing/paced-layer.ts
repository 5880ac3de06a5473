import { Layer } from '../../lib/layer.js';
import type { Duplex } from '../../lib/stream.js';
import type { Direction } from './direction.js';
import { actsOn } from './direction.js';

type Callback = (err?: Error | null) => void;

// One direction's queue of pieces waiting for their time.
class Lane {
  // Pieces in order, each with the time (performance.now()) it may go on.
  readonly queue: Array<{ piece: Buffer; due: number }> = [];
  // Bytes in the queue; kept under the high-water mark.
  bytes = 0;
  // The due time of the last piece queued; later pieces never overtake it.
  lastDue = 0;
  // Set while the first piece waits for its time. Not unref'd: over a memory
  // pair it is all that keeps the process alive until the piece arrives
  // (unref'd, a script's top-level await would exit with code 13 and
  // `node --test` would cancel the test). It never outlives its purpose:
  // teardown clears it, and none is set while the stream it feeds is full.
  timer: NodeJS.Timeout | null = null;
}

/**
 * The base of the filters that hold bytes back in time ({@link delay},
 * {@link throttle}): each piece gets a due time from {@link PacedLayer.dueTime},
 * pieces leave in order once due, and at most a high-water mark of bytes is
 * held per direction — above it the writer waits (going down) or the stream
 * below is paused (coming up), so memory stays bounded.
 */
export abstract class PacedLayer extends Layer {
  readonly #out: Lane | null;
  readonly #in: Lane | null;
  // Bytes held per direction before backpressure applies.
  readonly #limit: number;
  // The write callback held while the outbound queue is over the limit.
  #heldWrite: Callback | null = null;
  // finishOut's callback, held until the outbound queue is empty.
  #heldFinish: Callback | null = null;
  // Set when the stream below has ended; its end goes up after the queue.
  #inEnded = false;
  // Set while the layer above is full (pauseSource); no piece goes up then.
  #upperFull = false;
  // Set while the outbound pump waits for the stream below to drain.
  #awaitingLower = false;

  constructor(lower: Duplex, name: string, direction: Direction) {
    super(lower, { name });
    this.#out = actsOn(direction, 'out') ? new Lane() : null;
    this.#in = actsOn(direction, 'in') ? new Lane() : null;
    this.#limit = this.highWaterMark;
  }

  /** When `bytes` more, queued after a piece due at `lastDue`, may go on (in `performance.now()` ms). */
  protected abstract dueTime(side: 'in' | 'out', bytes: number, now: number, lastDue: number): number;

  /** Cuts a chunk into the pieces that are timed one by one (default: whole). */
  protected pieces(chunk: Buffer): Buffer[] {
    return [chunk];
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    const lane = this.#out;
    if (!lane) return this.sendDown(chunks, done);
    for (const chunk of chunks) this.#enqueue(lane, 'out', chunk);
    if (lane.bytes < this.#limit) done();
    else this.#heldWrite = done;
    this.#pumpOut();
  }

  protected override finishOut(done: Callback): void {
    if (!this.#out || this.#out.queue.length === 0) return done();
    this.#heldFinish = done;
  }

  protected override transformIn(chunk: Buffer): void {
    const lane = this.#in;
    if (!lane) return void this.pushUp(chunk);
    this.#enqueue(lane, 'in', chunk);
    this.#steerLower();
    this.#pumpIn();
  }

  protected override finishIn(): void {
    if (!this.#in) return super.finishIn();
    this.#inEnded = true;
    this.#pumpIn();
  }

  protected override pauseSource(): void {
    this.#upperFull = true;
    this.#steerLower();
  }

  protected override resumeSource(): void {
    this.#upperFull = false;
    this.#steerLower();
    this.#pumpIn();
  }

  protected override teardown(): void {
    for (const lane of [this.#out, this.#in]) {
      if (!lane) continue;
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      lane.queue.length = 0;
      lane.bytes = 0;
    }
    this.#heldWrite = null;
    this.#heldFinish = null;
  }

  #enqueue(lane: Lane, side: 'in' | 'out', chunk: Buffer): void {
    for (const piece of this.pieces(chunk)) {
      const now = performance.now();
      const due = Math.max(lane.lastDue, this.dueTime(side, piece.length, now, Math.max(lane.lastDue, now)));
      lane.lastDue = due;
      lane.queue.push({ piece, due });
      lane.bytes += piece.length;
    }
  }

  // The stream below reads only while the layer above has room and the
  // inbound queue is under its limit.
  #steerLower(): void {
    if (this.destroyed) return;
    const full = this.#upperFull || (this.#in !== null && this.#in.bytes >= this.#limit);
    if (full) this.pauseLower();
    else if (!this.lowerEnded) this.resumeLower();
  }

  #pumpOut = (): void => {
    const lane = this.#out!;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    if (this.destroyed || this.#awaitingLower) return;
    const now = performance.now();
    while (lane.queue.length > 0 && lane.queue[0]!.due <= now) {
      const { piece } = lane.queue.shift()!;
      lane.bytes -= piece.length;
      if (!this.writeDown([piece])) {
        this.#awaitingLower = true;
        this.whenLowerDrains(() => {
          this.#awaitingLower = false;
          this.#pumpOut();
        });
        break;
      }
    }
    if (this.#heldWrite && lane.bytes < this.#limit) {
      const done = this.#heldWrite;
      this.#heldWrite = null;
      done();
    }
    if (lane.queue.length === 0) {
      const finish = this.#heldFinish;
      this.#heldFinish = null;
      finish?.();
    } else if (!this.#awaitingLower) {
      lane.timer = setTimeout(this.#pumpOut, Math.max(0, lane.queue[0]!.due - now));
    }
  };

  #pumpIn = (): void => {
    const lane = this.#in;
    if (!lane) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    if (this.destroyed) return;
    const now = performance.now();
    while (!this.#upperFull && lane.queue.length > 0 && lane.queue[0]!.due <= now) {
      const { piece } = lane.queue.shift()!;
      lane.bytes -= piece.length;
      this.pushUp(piece);
    }
    this.#steerLower();
    if (lane.queue.length > 0) {
      if (!this.#upperFull) lane.timer = setTimeout(this.#pumpIn, Math.max(0, lane.queue[0]!.due - now));
    } else if (this.#inEnded) {
      this.#inEnded = false;
      this.pushUp(null);
    }
  };
}

/**
 * How each toxic acts on one direction of one proxied connection: a stage
 * takes pieces (chunks, then the end) from the stage before it and hands
 * them on to the next, at once, later, cut, or never. A stage holds bytes
 * only in order and reports how many it holds, so the link can pause the
 * sender (backpressure: memory stays bounded whatever the toxics). Stages
 * are made per connection from the toxic's attributes; a stateful toxic
 * (`limit_data` and the byte-counting ones) keeps its count across updates.
 */
import { performance } from 'node:perf_hooks';
import type { Random } from '../random.js';
import type { Toxic } from './toxics.js';

/** The end of a direction, handed on after its last chunk. */
export const END: unique symbol = Symbol('end');
/** What flows between stages. */
export type Piece = Buffer | typeof END;

/** What a stage may do beyond handing pieces on. */
export interface StageHost {
  /** The bytes a stage holds changed without a piece being pushed (a timer let some go). */
  changed(): void;
  /** Closes the proxied connection, both ways, after what was handed on (limit_data, timeout). */
  close(why: string): void;
  /** Resets the proxied connection: a TCP RST to both ends (reset_peer, reset_after). */
  reset(why: string): void;
  /** The connection's seeded random numbers, for jitter and slice sizes. */
  readonly random: Random;
}

/** Bytes counted by a toxic across updates of its attributes. */
export interface StageState {
  passed: number;
}

/** One toxic at work on one direction of one connection. */
export abstract class Stage {
  /** Where pieces go next; the link sets it, and resets it when the chain changes. */
  next: (piece: Piece) => void = () => {};
  /** Bytes held back, for backpressure. */
  held = 0;

  constructor(protected readonly host: StageHost) {}

  /** Takes the next piece. */
  abstract push(piece: Piece): void;

  /** The toxic was removed or changed: hands on everything held, at once and in order. */
  release(): void {}

  /** The connection is gone: stops timers; what is held is dropped with it. */
  stop(): void {}

  protected hand(piece: Piece): void {
    this.next(piece);
  }
}

/** A stage for a toxic that does not apply to this connection (its toxicity said no). */
class PassStage extends Stage {
  push(piece: Piece): void {
    this.hand(piece);
  }
}

// A queue of pieces, each let go at its time, in order.
abstract class TimedStage extends Stage {
  // Pieces waiting, each with the time (performance.now()) it may go.
  readonly #queue: Array<{ piece: Piece; due: number }> = [];
  #timer: NodeJS.Timeout | null = null;
  /** When the last piece queued is due; later pieces never go before it. */
  protected lastDue = 0;

  protected enqueue(piece: Piece, due: number): void {
    this.lastDue = Math.max(this.lastDue, due);
    this.#queue.push({ piece, due: this.lastDue });
    if (piece !== END) this.held += piece.length;
    this.#pump();
  }

  #pump = (): void => {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const now = performance.now();
    const before = this.held;
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now) this.#let(this.#queue.shift()!.piece);
    if (this.#queue.length > 0) this.#timer = setTimeout(this.#pump, this.#queue[0]!.due - now);
    if (this.held !== before) this.host.changed();
  };

  #let(piece: Piece): void {
    if (piece !== END) this.held -= piece.length;
    this.hand(piece);
  }

  override release(): void {
    this.stop();
    for (const { piece } of this.#queue.splice(0)) this.#let(piece);
  }

  override stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** `latency`: each piece `latency` ms later, ± up to `jitter` ms, never overtaking the one before. */
class LatencyStage extends TimedStage {
  constructor(host: StageHost, private readonly latency: number, private readonly jitter: number) {
    super(host);
  }

  push(piece: Piece): void {
    const jitter = this.jitter > 0 ? (this.host.random.next() * 2 - 1) * this.jitter : 0;
    this.enqueue(piece, performance.now() + this.latency + jitter);
  }
}

/** `bandwidth`: each piece leaves once the bytes before it would have crossed a link of `rate` KB/s. */
class BandwidthStage extends TimedStage {
  constructor(host: StageHost, private readonly bytesPerMs: number) {
    super(host);
  }

  push(piece: Piece): void {
    if (this.bytesPerMs <= 0 || piece === END) {
      this.enqueue(piece, piece === END ? this.lastDue : performance.now());
      return;
    }
    // At most 100 ms' worth at a time, as Toxiproxy sends it, so the rate is even within a big chunk.
    const slice = Math.max(1, Math.floor(this.bytesPerMs * 100));
    for (let at = 0; at < piece.length; at += slice) {
      const part = piece.subarray(at, at + slice);
      this.enqueue(part, Math.max(this.lastDue, performance.now()) + part.length / this.bytesPerMs);
    }
  }
}

/** `slicer`: slices of about `average_size` bytes, `delay` µs apart. */
class SlicerStage extends TimedStage {
  constructor(host: StageHost, private readonly average: number, private readonly variation: number, private readonly delayMs: number) {
    super(host);
  }

  push(piece: Piece): void {
    if (piece === END || this.average <= 0) {
      this.enqueue(piece, piece === END ? this.lastDue : performance.now());
      return;
    }
    let due = Math.max(this.lastDue, performance.now());
    for (const slice of this.#slices(piece, 0, piece.length)) {
      this.enqueue(slice, due);
      due += this.delayMs;
    }
  }

  // Toxiproxy's halving: split in the middle (moved by up to ± variation) until pieces are near the average.
  #slices(chunk: Buffer, start: number, end: number): Buffer[] {
    if (end - start - this.average <= this.variation) return [chunk.subarray(start, end)];
    let mid = start + Math.floor((end - start) / 2);
    if (this.variation > 0) mid += Math.floor(this.host.random.next() * this.variation * 2) - this.variation;
    mid = Math.min(end - 1, Math.max(start + 1, mid));
    return [...this.#slices(chunk, start, mid), ...this.#slices(chunk, mid, end)];
  }
}

/** `slow_close`: chunks pass at once; the end, `delay` ms later. */
class SlowCloseStage extends TimedStage {
  constructor(host: StageHost, private readonly delayMs: number) {
    super(host);
  }

  push(piece: Piece): void {
    this.enqueue(piece, piece === END ? performance.now() + this.delayMs : performance.now());
  }
}

/** `fragment`: pieces of the listed sizes in turn, each handed on by itself. */
class FragmentStage extends Stage {
  #next = 0;
  constructor(host: StageHost, private readonly sizes: readonly number[]) {
    super(host);
  }

  push(piece: Piece): void {
    if (piece === END) return this.hand(piece);
    for (let at = 0; at < piece.length;) {
      const size = this.sizes[this.#next++ % this.sizes.length]!;
      this.hand(piece.subarray(at, at + size));
      at += size;
    }
  }
}

/** `limit_data`, `reset_after`, `stall_after`: bytes pass up to a count, then the connection closes, resets, or stalls. */
class CountingStage extends Stage {
  // After the count: what became of the direction; stalled pieces wait here.
  #stopped = false;
  readonly #stalled: Piece[] = [];

  constructor(host: StageHost, private readonly state: StageState, private readonly limit: number,
    private readonly then: 'close' | 'reset' | 'stall', private readonly name: string) {
    super(host);
  }

  push(piece: Piece): void {
    if (this.then === 'stall' && this.#stopped) {
      this.#stalled.push(piece);
      if (piece !== END) this.held += piece.length;
      return;
    }
    if (this.#stopped) return;
    if (piece === END) return this.hand(piece);
    const room = Math.max(0, this.limit - this.state.passed);
    const pass = piece.length <= room ? piece : piece.subarray(0, room);
    this.state.passed += pass.length;
    if (pass.length > 0) this.hand(pass);
    if (this.state.passed < this.limit) return;
    this.#stopped = true;
    const why = `${this.name}: ${this.limit} bytes passed`;
    if (this.then === 'close') this.host.close(why);
    else if (this.then === 'reset') this.host.reset(why);
    else if (pass.length < piece.length) this.push(piece.subarray(pass.length));
  }

  override release(): void {
    this.held = 0;
    for (const piece of this.#stalled.splice(0)) this.hand(piece);
  }
}

/** `reset_peer`: drops what comes; `timeout` ms after the first piece, resets the connection. */
class ResetPeerStage extends Stage {
  #timer: NodeJS.Timeout | null = null;
  constructor(host: StageHost, private readonly timeout: number, private readonly name: string) {
    super(host);
  }

  push(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.host.reset(`${this.name}: reset ${this.timeout} ms after the first bytes`), this.timeout);
  }

  override stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }

  override release(): void {
    this.stop();
  }
}

/** `timeout`: drops what comes; closes the connection after `timeout` ms (0: never), at the end, or when removed. */
class TimeoutStage extends Stage {
  #timer: NodeJS.Timeout | null = null;
  constructor(host: StageHost, timeout: number, private readonly name: string) {
    super(host);
    if (timeout > 0) this.#timer = setTimeout(() => host.close(`${name}: closed after ${timeout} ms`), timeout);
  }

  push(piece: Piece): void {
    if (piece === END) this.host.close(`${this.name}: the stream ended`);
  }

  override stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }

  // As in Toxiproxy: the bytes it dropped are gone, so the connection cannot go on.
  override release(): void {
    this.stop();
    this.host.close(`${this.name}: removed, and the bytes it dropped are lost`);
  }
}

/** Makes the stage of `toxic` for one connection; `state` carries its count across updates. */
export function makeStage(toxic: Toxic, host: StageHost, state: StageState): Stage {
  if (host.random.next() >= toxic.toxicity) return new PassStage(host);
  const a = toxic.attributes as Record<string, number>;
  switch (toxic.type) {
    case 'latency': return new LatencyStage(host, a.latency!, a.jitter!);
    case 'bandwidth': return new BandwidthStage(host, a.rate!);
    case 'slicer': return new SlicerStage(host, a.average_size!, a.size_variation!, a.delay! / 1000);
    case 'slow_close': return new SlowCloseStage(host, a.delay!);
    case 'fragment': return new FragmentStage(host, toxic.attributes.sizes as readonly number[]);
    case 'limit_data': return new CountingStage(host, state, a.bytes!, 'close', toxic.name);
    case 'reset_after': return new CountingStage(host, state, a.bytes!, 'reset', toxic.name);
    case 'stall_after': return new CountingStage(host, state, a.bytes!, 'stall', toxic.name);
    case 'reset_peer': return new ResetPeerStage(host, a.timeout!, toxic.name);
    case 'timeout': return new TimeoutStage(host, a.timeout!, toxic.name);
  }
}

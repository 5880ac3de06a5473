import { WirestackError } from '../../lib/errors.js';
import type { Filter } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import type { Duplex } from '../../lib/stream.js';
import { type Direction, actsOn } from './direction.js';

/**
 * Faults for {@link fault}, each at a byte offset counted from the start of
 * a direction: the bytes before the offset pass, then the fault happens.
 */
export interface FaultOptions {
  /** Flip every bit of the byte at each of these offsets (the stream goes on). */
  corruptAt?: number | readonly number[];
  /** End the direction cleanly here (a FIN); later bytes are dropped. */
  truncateAt?: number;
  /**
   * Reset the connection here: the stack fails with `ERR_WIRESTACK_FAULT`
   * and, when the layer sits on a `net.Socket`, the peer gets a TCP RST
   * (ECONNRESET); on a memory pair it gets the pair's reset. (On Linux, an
   * RST that follows data the peer has not read yet may reach the peer as a
   * plain end: the kernel reports what it can.)
   */
  resetAt?: number;
  /**
   * Stop here, forever: no more bytes, no end, no error (a hung peer or a
   * black-holed link). Going down, the writer sees backpressure that never
   * clears; coming up, the stream below is paused.
   */
  stallAt?: number;
  /** Which bytes the offsets count (default `'in'`: what the peer sent). */
  direction?: Direction;
}

type Callback = (err?: Error | null) => void;

/**
 * A filter that breaks the stream on purpose, at exact byte offsets, so a
 * test can prove what a protocol does when the network misbehaves: a
 * corrupted byte, a connection cut short (truncation), a reset, a stall.
 * The only error it raises itself is `ERR_WIRESTACK_FAULT` (for `resetAt`);
 * everything else is for the layers above to notice. Put it lowest in the
 * stack, directly on the raw connection, to fault what goes over the wire.
 *
 * @example
 * ```ts
 * // My protocol must report a message cut off by the peer's FIN.
 * const [a, b] = duplexPair();
 * const client = wrap(a, [], { role: 'client' });
 * const server = wrap(b, [fault({ truncateAt: 10 })], { role: 'server' });
 * await client.send(encodeMessage(Buffer.alloc(100)));
 * await expect(readMessage(server)).rejects.toMatchObject({ code: 'ERR_WIRESTACK_EOF' });
 * ```
 */
export function fault(options: FaultOptions, name = 'fault'): Filter {
  const plan = validate(options);
  const direction = options.direction ?? 'in';
  return {
    name,
    attach: (lower) => new FaultLayer(lower, name, actsOn(direction, 'out') ? plan : null, actsOn(direction, 'in') ? plan : null),
  };
}

// Offsets of one direction's faults; Infinity for "never".
interface Plan {
  readonly corrupt: ReadonlySet<number>;
  readonly truncate: number;
  readonly reset: number;
  readonly stall: number;
}

function validate(options: FaultOptions): Plan {
  const offset = (value: number | undefined, what: string): number => {
    if (value === undefined) return Infinity;
    if (!Number.isInteger(value) || value < 0) {
      throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `fault(): ${what} must be a whole number ≥ 0, got ${value}`, { layer: 'fault' });
    }
    return value;
  };
  const corrupt = options.corruptAt === undefined ? [] : typeof options.corruptAt === 'number' ? [options.corruptAt] : options.corruptAt;
  return {
    corrupt: new Set(corrupt.map((at) => offset(at, 'corruptAt'))),
    truncate: offset(options.truncateAt, 'truncateAt'),
    reset: offset(options.resetAt, 'resetAt'),
    stall: offset(options.stallAt, 'stallAt'),
  };
}

// What happens at the end of the bytes that pass.
type Event = 'truncate' | 'reset' | 'stall' | null;

// Where one direction stands: bytes counted so far, and whether it has stopped.
class Lane {
  offset = 0;
  stopped: Event = null;
  constructor(readonly plan: Plan) {}

  /** The part of `chunk` that passes (corrupted where planned) and the fault that follows it, if any. */
  take(chunk: Buffer): { pass: Buffer; event: Event } {
    const start = this.offset;
    const end = start + chunk.length;
    const { truncate, reset, stall } = this.plan;
    const stop = Math.min(truncate, reset, stall);
    let pass = stop < end ? chunk.subarray(0, Math.max(0, stop - start)) : chunk;
    let copied = false;
    for (const at of this.plan.corrupt) {
      if (at < start || at >= start + pass.length) continue;
      if (!copied) {
        pass = Buffer.from(pass);
        copied = true;
      }
      pass[at - start] = pass[at - start]! ^ 0xff;
    }
    this.offset += pass.length;
    if (stop >= end) return { pass, event: null };
    this.stopped = stop === reset ? 'reset' : stop === truncate ? 'truncate' : 'stall';
    return { pass, event: this.stopped };
  }
}

/** The layer {@link fault} makes. */
class FaultLayer extends Layer {
  // Each direction's faults and progress; null where this direction is left alone.
  readonly #out: Lane | null;
  readonly #in: Lane | null;

  constructor(lower: Duplex, name: string, out: Plan | null, inbound: Plan | null) {
    super(lower, { name });
    this.#out = out && new Lane(out);
    this.#in = inbound && new Lane(inbound);
  }

  protected override transformOut(chunks: Buffer[], done: Callback): void {
    const lane = this.#out;
    if (!lane) return this.sendDown(chunks, done);
    // After a truncation the writer is told all is well: the point is that
    // only the peer can notice.
    if (lane.stopped === 'truncate') return done();
    const pass: Buffer[] = [];
    for (const chunk of chunks) {
      const taken = lane.take(chunk);
      if (taken.pass.length > 0) pass.push(taken.pass);
      if (taken.event === null) continue;
      if (pass.length > 0) this.writeDown(pass);
      return this.#outEvent(taken.event, done);
    }
    this.sendDown(pass, done);
  }

  #outEvent(event: Exclude<Event, null>, done: Callback): void {
    if (event === 'reset') return this.#reset('out');
    if (event === 'truncate') {
      this.endLower();
      return done();
    }
    // A stall holds the write's callback forever; nothing more comes down.
    void done;
  }

  protected override finishOut(done: Callback): void {
    // A stalled direction never gets its end out either.
    if (this.#out?.stopped !== 'stall') done();
  }

  protected override transformIn(chunk: Buffer): void {
    const lane = this.#in;
    if (!lane) return void this.pushUp(chunk);
    if (lane.stopped !== null) return;
    const { pass, event } = lane.take(chunk);
    this.pushUp(pass);
    if (event === 'reset') this.#reset('in');
    else if (event === 'truncate') this.pushUp(null);
    else if (event === 'stall') this.pauseLower();
  }

  protected override finishIn(): void {
    if (this.#in?.stopped == null) this.pushUp(null);
  }

  // A stalled direction stays paused whatever the layer above asks.
  protected override resumeSource(): void {
    if (this.#in?.stopped !== 'stall') super.resumeSource();
  }

  #reset(side: 'in' | 'out'): void {
    const offset = (side === 'in' ? this.#in : this.#out)!.offset;
    // On a socket, an RST rather than a FIN, so the peer sees a reset too.
    // A net.Socket (found by its method, so this runs where there is no node:net) resets.
    const lower = this.lower as Duplex & { resetAndDestroy?: () => void };
    if (typeof lower.resetAndDestroy === 'function' && !lower.destroyed) lower.resetAndDestroy();
    this.destroy(new WirestackError('ERR_WIRESTACK_FAULT',
      `${this.name}: connection reset on purpose after ${offset} bytes ${side === 'in' ? 'read' : 'written'}`, { layer: this.name }));
  }
}

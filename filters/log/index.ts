import { WirestackError, toWirestackError } from '../../lib/errors.js';
import type { Filter, LayerContext } from '../../lib/filter.js';
import { Layer } from '../../lib/layer.js';
import type { Duplex } from '../../lib/stream.js';
import { chunkLine, eventLine, hexDump, omittedLine, textLines, tlsLines, type Direction } from './format.js';
import { TlsRecordParser, looksLikeTls, startsTlsHandshake } from './tls-records.js';

/** How each chunk is shown: one line, a hex dump as `xxd` prints it, or the bytes as text. */
export type LogFormat = 'summary' | 'hex' | 'text';

/** What is logged: nothing, only events (end, close, error), or events and every chunk. */
export type LogLevel = 'off' | 'events' | 'chunks';

/** The part of a Writable the logger uses, so any stream implementation will do. */
export interface LogWritable {
  /** Takes one chunk of lines; `false` asks the logger to wait for `'drain'`. */
  write(chunk: string): boolean;
  /** The logger waits for `'drain'` this way. */
  once(event: 'drain', listener: () => void): unknown;
  /** Drops a `'drain'` listener the logger no longer needs. */
  off(event: 'drain', listener: () => void): unknown;
  /** Whether a write is waiting for `'drain'`. */
  readonly writableNeedDrain: boolean;
  /** A destroyed sink gets no more lines. */
  readonly destroyed: boolean;
}

/** Where log lines go: a function called once per line, or a Writable that gets them newline-terminated. */
export type LogSink = ((line: string) => void) | LogWritable;

/** Options for {@link log}. */
export interface LogOptions {
  /** The layer's name, printed on every line and shown in `conn.layers` (default `'log'`). */
  name?: string;
  /** How chunks are shown (default `'summary'`). */
  format?: LogFormat;
  /** Where lines go (default `process.stderr`; in a browser, `console.log`). A Writable's backpressure is honoured. */
  sink?: LogSink;
  /** At most this many bytes of a chunk are dumped in the `hex` and `text` formats (default 1024). */
  maxBytes?: number;
  /** `false` turns the logger off: the layer passes bytes through and formats nothing (default true). */
  enabled?: boolean;
  /** What is logged (default `'chunks'`); `'off'` is the same as `enabled: false`. */
  level?: LogLevel;
  /**
   * Name the TLS records in the bytes (for a logger below TLS): `true`,
   * `false`, or `'auto'` (the default), which decides for each direction from
   * its first bytes, and on a plaintext direction notices TLS starting later
   * (STARTTLS) at a chunk that begins with a handshake record.
   */
  tls?: 'auto' | boolean;
}

const DEFAULT_MAX_BYTES = 1024;

/**
 * A filter that logs what crosses it, both ways, and changes no byte. Below
 * TLS it names the TLS records; above TLS it shows the plaintext, so one
 * stack can show both. The layer may be removed with `conn.pop()`.
 *
 * @example
 * ```ts
 * const conn = await connect({ host, port }, [
 *   log({ name: 'wire' }),            // TLS records
 *   tls.client({ ca }),
 *   log({ name: 'plain', format: 'text' }),
 * ]);
 * ```
 */
export function log(options: LogOptions = {}): Filter {
  const name = options.name ?? 'log';
  const level: LogLevel = options.enabled === false ? 'off' : options.level ?? 'chunks';
  if (options.maxBytes !== undefined && !(options.maxBytes >= 0)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `log: maxBytes must be ≥ 0, got ${options.maxBytes}`);
  }
  if (options.format !== undefined && !['summary', 'hex', 'text'].includes(options.format)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `log: format must be 'summary', 'hex' or 'text', got ${String(options.format)}`);
  }
  if (!['off', 'events', 'chunks'].includes(level)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `log: level must be 'off', 'events' or 'chunks', got ${String(level)}`);
  }
  return {
    name,
    attach(lower, ctx) {
      // Turned off, the layer is the plain pass-through Layer: no hook of the
      // logger runs, so it costs what an identity layer costs.
      if (level === 'off') return new Layer(lower, { name, removable: true });
      return new LogLayer(lower, name, level, connectionStart(ctx), options);
    },
  };
}

// When each connection began, as its first logger saw it. Every layer of a
// connection gets the same context object, so the loggers on both sides of
// TLS share one clock and their lines interleave in time order.
const connectionStarts = new WeakMap<LayerContext, number>();

function connectionStart(ctx: LayerContext): number {
  let start = connectionStarts.get(ctx);
  if (start === undefined) {
    start = performance.now();
    connectionStarts.set(ctx, start);
  }
  return start;
}

/** One direction's state: where its stream is, and its TLS parser once it is known to be TLS. */
interface DirectionState {
  // Bytes of this direction seen so far: the offset of the next hex dump.
  offset: number;
  // Undecided ('auto' before the first bytes), a parser, or null (not TLS).
  tls: TlsRecordParser | null | 'undecided';
}

/** The log filter's layer: formats what passes, then passes it on unchanged. */
class LogLayer extends Layer {
  // The options, fixed when the layer is made.
  readonly #level: LogLevel;
  readonly #format: LogFormat;
  readonly #maxBytes: number;
  // Writes one chunk's (or event's) lines to the sink; returns whether it has room.
  readonly #writeLines: (lines: string[]) => boolean;
  // The sink when it is a stream whose backpressure we honour; null for a function.
  readonly #stream: LogWritable | null;
  // tls: 'auto': decide from the first bytes, and look for TLS starting later.
  readonly #autoTls: boolean;
  // Each direction's offset and TLS parser; changed by every chunk logged.
  readonly #out: DirectionState;
  readonly #in: DirectionState;
  // performance.now() when the connection began: the zero of every line's time.
  readonly #start: number;
  // Set while a full sink holds the stream below paused; its 'drain' clears it.
  #sinkFull = false;
  // 'drain' listeners this layer has on the sink; removed at teardown.
  readonly #drainWaiters = new Set<() => void>();
  // Set when conn.pop() removes the layer: its teardown is not the connection's close.
  #removed = false;

  constructor(lower: Duplex, name: string, level: LogLevel, start: number, options: LogOptions) {
    super(lower, { name, removable: true });
    this.#start = start;
    this.#level = level;
    this.#format = options.format ?? 'summary';
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    // Standard error, or the console where there is none (a browser).
    const sink = options.sink ?? globalThis.process?.stderr ?? ((line: string) => console.log(line));
    if (typeof sink === 'function') {
      this.#stream = null;
      this.#writeLines = (lines) => {
        for (const line of lines) sink(line);
        return true;
      };
    } else {
      this.#stream = sink;
      // One write per chunk logged, so its lines stay together in a shared sink.
      this.#writeLines = (lines) => sink.destroyed || sink.write(`${lines.join('\n')}\n`);
    }
    const tls = options.tls ?? 'auto';
    this.#autoTls = tls === 'auto';
    const initial = (): TlsRecordParser | null | 'undecided' =>
      tls === 'auto' ? 'undecided' : tls ? new TlsRecordParser() : null;
    this.#out = { offset: 0, tls: initial() };
    this.#in = { offset: 0, tls: initial() };
  }

  protected override transformOut(chunks: Buffer[], done: (err?: Error | null) => void): void {
    let room = true;
    for (const chunk of chunks) room = this.#logChunk('out', chunk) && room;
    if (room) {
      this.sendDown(chunks, done);
      return;
    }
    // A full sink slows the writer, as a slow socket would: no unbounded log queue.
    this.sendDown(chunks, (err) => (err ? done(err) : this.#whenSinkDrains(() => done())));
  }

  protected override transformIn(chunk: Buffer): void {
    const room = this.#logChunk('in', chunk);
    this.pushUp(chunk);
    if (!room && !this.#sinkFull) {
      this.#sinkFull = true;
      this.pauseLower();
      this.#whenSinkDrains(() => {
        this.#sinkFull = false;
        if (!this.upperFull) this.resumeLower();
      });
    }
  }

  protected override resumeSource(): void {
    if (!this.#sinkFull) super.resumeSource();
  }

  protected override finishOut(done: (err?: Error | null) => void): void {
    this.#logEvent('out end');
    done();
  }

  protected override finishIn(): void {
    this.#logEvent('in end');
    super.finishIn();
  }

  override async unwrap(): Promise<Buffer[]> {
    const leftovers = await super.unwrap();
    this.#removed = true;
    this.#logEvent('removed');
    return leftovers;
  }

  protected override teardown(error: Error | null): void {
    this.#stopWaitingForSink();
    if (this.#removed) return;
    if (error) {
      const coded = toWirestackError(error, this.name);
      this.#logEvent(`error ${coded.code}: ${coded.message}`);
    }
    this.#logEvent('close');
  }

  #logEvent(event: string): void {
    this.#emit([eventLine(this.name, this.#elapsedMs(), event)]);
  }

  // Formats one chunk and writes it to the sink; returns whether the sink has room.
  #logChunk(direction: Direction, chunk: Buffer): boolean {
    if (this.#level !== 'chunks') return true;
    const state = direction === 'out' ? this.#out : this.#in;
    const lines = [chunkLine(this.name, this.#elapsedMs(), direction, chunk.length)];
    if (state.tls === 'undecided') state.tls = looksLikeTls(chunk) ? new TlsRecordParser() : null;
    // A plaintext stream may turn into TLS later (STARTTLS): its first record starts a chunk.
    else if (state.tls === null && this.#autoTls && startsTlsHandshake(chunk)) state.tls = new TlsRecordParser();
    if (state.tls !== null) for (const line of tlsLines(state.tls.feed(chunk))) lines.push(`  ${line}`);
    if (this.#format !== 'summary') {
      const shown = chunk.subarray(0, this.#maxBytes);
      const body = this.#format === 'hex' ? hexDump(shown, state.offset) : textLines(shown);
      for (const line of body) lines.push(`  ${line}`);
      if (shown.length < chunk.length) lines.push(`  ${omittedLine(chunk.length - shown.length)}`);
    }
    state.offset += chunk.length;
    return this.#emit(lines);
  }

  #elapsedMs(): number {
    return performance.now() - this.#start;
  }

  #emit(lines: string[]): boolean {
    try {
      return this.#writeLines(lines);
    } catch (err) {
      // A sink that throws fails the layer, like any other layer error, rather than escaping into the stream machinery.
      this.destroy(toWirestackError(err, this.name));
      return true;
    }
  }

  // One sink (stderr by default) serves many connections: each waiter is
  // kept so that teardown can remove it, or a closed connection's listener
  // would stay on the shared sink and keep the layer alive.
  #whenSinkDrains(callback: () => void): void {
    const stream = this.#stream;
    if (stream === null || stream.destroyed || !stream.writableNeedDrain) {
      callback();
      return;
    }
    const waiter = (): void => {
      this.#drainWaiters.delete(waiter);
      callback();
    };
    this.#drainWaiters.add(waiter);
    stream.once('drain', waiter);
  }

  #stopWaitingForSink(): void {
    for (const waiter of this.#drainWaiters) this.#stream?.off('drain', waiter);
    this.#drainWaiters.clear();
  }
}

/**
 * One direction of one proxied connection: what the source connection
 * reads goes through a chain of stages (one per toxic of that stream, in
 * the order they were added) and is written to the sink connection. The
 * chain is rebuilt whenever the toxics change, while bytes flow: a stage
 * that goes hands on what it holds, in order, so a change never loses or
 * reorders a byte (except where a toxic drops bytes by design).
 *
 * Backpressure: the source is paused while the stages hold a high-water
 * mark of bytes, or while the sink's buffer is full.
 */
import type { Connection } from '../../index.js';
import { END, makeStage, type Piece, type Stage, type StageHost, type StageState } from './stages.js';
import type { Toxic } from './toxics.js';

// Bytes the stages of one link may hold before the source is paused.
const HIGH_WATER_MARK = 64 * 1024;

interface Link {
  readonly toxic: Toxic;
  readonly stage: Stage;
}

/** One direction through the proxy, source → toxics → sink. */
export class ToxicLink {
  // The chain, in order; pieces enter the first.
  #chain: Link[] = [];
  // Counts of stateful toxics, by name, kept across updates.
  readonly #states = new Map<string, StageState>();
  // Set while the sink's buffer is full, until its 'drain'.
  #sinkFull = false;
  // Set once the end has been handed to the sink (or the link stopped).
  #done = false;
  /** Bytes written to the sink. */
  bytes = 0;
  // What the stages may do: the connection's close, reset and random numbers, and this link's steering.
  readonly #host: StageHost;

  constructor(private readonly source: Connection, private readonly sink: Connection, connection: Omit<StageHost, 'changed'>) {
    this.#host = {
      changed: () => this.#steer(),
      close: (why) => connection.close(why),
      reset: (why) => connection.reset(why),
      random: connection.random,
    };
    source.on('data', (chunk: Buffer) => {
      this.#enter(chunk);
      this.#steer();
    });
    source.once('end', () => this.#enter(END));
  }

  /** Makes the chain follow `toxics` (this stream's, in order), keeping the stages of toxics that did not change. */
  apply(toxics: readonly Toxic[]): void {
    if (this.#done) return;
    const old = this.#chain;
    const kept = new Map(old.map((link) => [link.toxic, link]));
    const chain = toxics.map((toxic) => kept.get(toxic) ?? { toxic, stage: makeStage(toxic, this.#host, this.#stateOf(toxic)) });
    this.#chain = chain;
    this.#wire();
    // A stage that goes hands what it holds to whatever now follows its place:
    // the stage that replaced it (an update), or the next one that stayed.
    // The last goes first, as it holds the oldest bytes of the ones that go.
    for (let i = old.length - 1; i >= 0; i--) {
      const { toxic, stage } = old[i]!;
      if (chain.includes(old[i]!)) continue;
      const successor = chain.find((link) => link.toxic.name === toxic.name)
        ?? old.slice(i + 1).find((link) => chain.includes(link));
      stage.next = successor ? (piece) => successor.stage.push(piece) : this.#deliver;
      stage.release();
      stage.stop();
    }
    for (const name of this.#states.keys()) if (!toxics.some((t) => t.name === name)) this.#states.delete(name);
    this.#steer();
  }

  /** The connection is gone: timers stop, nothing more moves. */
  stop(): void {
    this.#done = true;
    for (const { stage } of this.#chain) stage.stop();
  }

  #stateOf(toxic: Toxic): StageState {
    let state = this.#states.get(toxic.name);
    if (!state) this.#states.set(toxic.name, state = { passed: 0 });
    return state;
  }

  #wire(): void {
    this.#chain.forEach((link, i) => {
      const after = this.#chain[i + 1];
      link.stage.next = after ? (piece) => after.stage.push(piece) : this.#deliver;
    });
  }

  #enter(piece: Piece): void {
    if (this.#done) return;
    const first = this.#chain[0];
    if (first) first.stage.push(piece);
    else this.#deliver(piece);
  }

  #deliver = (piece: Piece): void => {
    if (this.#done) return;
    if (piece === END) {
      this.#done = true;
      this.sink.end();
      return;
    }
    this.bytes += piece.length;
    if (!this.sink.write(piece) && !this.#sinkFull) {
      this.#sinkFull = true;
      this.sink.once('drain', () => {
        this.#sinkFull = false;
        this.#steer();
      });
    }
  };

  #steer(): void {
    if (this.#done) return;
    let held = 0;
    for (const { stage } of this.#chain) held += stage.held;
    if (this.#sinkFull || held >= HIGH_WATER_MARK) this.source.pause();
    else this.source.resume();
  }
}

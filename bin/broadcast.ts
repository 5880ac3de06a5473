/**
 * `listen --keep-open` joined to standard input, as `ncat -l -k` does it:
 * what is read from standard input goes to every connection open at the
 * time, each as its own input. Standard input is read only while a
 * connection is open, so no byte is read for nobody; the slowest
 * connection sets the pace, with backpressure, and a bounded buffer each.
 */
import { PassThrough } from 'node:stream';
import type { RelayInput } from './relay.js';

/** Hands out one input per connection, each fed from the same source. */
export class Broadcast {
  readonly #source: RelayInput;
  // The inputs of the open connections.
  readonly #inputs = new Set<PassThrough>();
  // Inputs that are full; the source waits until each has drained.
  readonly #full = new Set<PassThrough>();
  // Set once the source has ended: inputs made after that start ended.
  #ended = false;

  constructor(source: RelayInput) {
    this.#source = source;
    source.pause();
    source.on('data', (chunk: Buffer | string) => {
      for (const input of this.#inputs) {
        if (!input.write(chunk)) this.#full.add(input);
      }
      this.#steer();
    });
    source.once('end', () => {
      this.#ended = true;
      for (const input of this.#inputs) input.end();
      this.#inputs.clear();
      this.#full.clear();
    });
  }

  /** A new connection's input: what the source gives from now on, then its end. */
  add(): PassThrough {
    const input = new PassThrough();
    if (this.#ended) {
      input.end();
      return input;
    }
    this.#inputs.add(input);
    input.on('drain', () => {
      this.#full.delete(input);
      this.#steer();
    });
    this.#steer();
    return input;
  }

  /** Ends an input (its connection's peer has ended, or the connection is gone): nothing more is written to it. */
  close(input: PassThrough): void {
    if (!this.#inputs.delete(input)) return;
    this.#full.delete(input);
    input.end();
    this.#steer();
  }

  // The source flows while someone listens and no one is full.
  #steer(): void {
    if (this.#ended) return;
    if (this.#inputs.size > 0 && this.#full.size === 0) this.#source.resume();
    else this.#source.pause();
  }
}

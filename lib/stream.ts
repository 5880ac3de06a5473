// The one place that picks the stream implementation. Everything in wirestack
// imports stream classes (and the EventEmitter they are built on) from here.
// This file is Node's streams, for Node, Deno and Bun; the browser build takes
// its twin, stream.browser.ts (readable-stream 4, the same streams as a package).
import { promises } from 'node:stream';

export { EventEmitter } from 'node:events';
export { Duplex, PassThrough, Readable, Transform, Writable, finished, pipeline } from 'node:stream';
export type { DuplexOptions, TransformCallback } from 'node:stream';

/** `finished()` as a promise (`stream/promises`). */
export const finishedPromise = promises.finished;

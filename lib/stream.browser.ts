// The browser twin of stream.ts: readable-stream 4 (Node 18's streams as a
// package) and the `events` package it is built on, bundled into the browser
// build with the `buffer` and `process` packages they use.
import { promises } from 'readable-stream';

export { EventEmitter } from 'events';
export { Duplex, PassThrough, Readable, Transform, Writable, finished, pipeline } from 'readable-stream';
export type { DuplexOptions, TransformCallback } from 'node:stream';

/** `finished()` as a promise (`stream/promises`). */
export const finishedPromise = promises.finished;

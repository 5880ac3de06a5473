// The one place that picks the stream implementation. Everything in wirestack
// imports stream classes from here, so a browser build can swap in
// readable-stream by changing this file alone.
export { Duplex, PassThrough, Readable, Transform, Writable, finished, pipeline } from 'node:stream';
export type { DuplexOptions, TransformCallback } from 'node:stream';

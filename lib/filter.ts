import type { Layer } from './layer.js';
import type { Duplex } from './stream.js';
import type { LayerStats } from './stats.js';

/** Which end of a connection this is; fixed when the connection is made. */
export type Role = 'client' | 'server';

/** Where the raw connection goes, when it is a socket. */
export interface RemoteInfo {
  /** Host name or address the client connected to (for TLS SNI and verification). */
  host?: string;
  /** TCP port of the other end. */
  port?: number;
  /** Unix domain socket path. */
  path?: string;
}

/** What a filter learns about the connection it is applied to. */
export interface LayerContext {
  /** The connection's end, fixed when it was made: a TLS filter acts as this role's side. */
  readonly role: Role;
  /** Where the raw connection goes (empty for a stream that is not a socket). */
  readonly remote: RemoteInfo;
  /** Records a layer so that `conn.layers` can list it. The stack calls this; filters rarely need to. */
  record(name: string, layer: Duplex | Layer): void;
}

/**
 * A reusable recipe for one layer. It holds options, not connection state:
 * one filter value can serve many connections.
 *
 * `attach()` gets a stream to sit on and returns the layer: a {@link Layer}
 * made over `lower` (it joins the connection's pipeline: no stream of its
 * own), or any Duplex that reads and writes `lower` (it is wired in as a
 * stream).
 *
 * @example
 * ```ts
 * const upper: Filter = { name: 'upper', attach: (lower) => new UpperCaseLayer(lower) };
 * ```
 */
export interface Filter {
  /** The name its layers carry in `conn.layers` and on their errors. */
  readonly name: string;
  /** Makes this filter's layer over `lower` and returns it; the layer owns `lower` from now on. */
  attach(lower: Duplex, ctx: LayerContext): Duplex | Layer;
}

/** What `conn.layers` says about one layer. */
export interface LayerInfo {
  /** The filter's name (`'tls'`, `'log'`, …). */
  readonly name: string;
  /** Bytes the layer read from below, when it keeps counts (every {@link Layer} does). */
  readonly bytesIn: number | undefined;
  /** Bytes the layer wrote below. */
  readonly bytesOut: number | undefined;
  /** Chunks read from below. */
  readonly chunksIn: number | undefined;
  /** Chunks (or writev batches) written below. */
  readonly chunksOut: number | undefined;
  /** `'open'`, `'half-closed'` (one direction ended) or `'closed'`. */
  readonly state: 'open' | 'half-closed' | 'closed';
  /** The live counters, for filters (meter) that report throughput. */
  readonly stats: LayerStats | undefined;
  /** The layer itself: a {@link Layer}, or the stream a filter returned. */
  readonly stream: Duplex | Layer;
}

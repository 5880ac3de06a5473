/**
 * What the connectors for other clients (`agent()`, `dispatcher()`) share:
 * the target a request names, turning a stack (or a function of the target)
 * into filters, and the rule that an `https:` request never goes out
 * without TLS.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Connection } from './connection.js';
import { WirestackError } from './errors.js';
import type { Filter } from './filter.js';
import { isSecureClientFilter } from './secure-layer.js';
import { Stack } from './stack.js';

/** Where a request goes, as a connector's stack function sees it. */
export interface ConnectorTarget {
  /** `'https:'` or `'http:'`: the scheme of the request. */
  readonly protocol: string;
  /** The host the request names: a DNS name or an IP address. */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** A Unix socket path, when the request goes to one (`socketPath`). */
  readonly path?: string | undefined;
  /**
   * The server name for TLS (SNI and the certificate check): the request's
   * `servername`, else its host name; `''` when the host is an IP address.
   */
  readonly servername?: string | undefined;
  /** `https.request`'s (or the agent's) `rejectUnauthorized`, for a stack that honours it. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** `https.request`'s (or the agent's) `ca`. */
  readonly ca?: ConnectionOptions['ca'];
  /** `https.request`'s (or the agent's) client certificate. */
  readonly cert?: ConnectionOptions['cert'];
  /** `https.request`'s (or the agent's) client key. */
  readonly key?: ConnectionOptions['key'];
}

/**
 * The filters a connector applies to each connection it opens: a filter, a
 * list (lowest first), or a function that makes them for each target
 * (to take verification options from the request, or vary by host).
 */
export type ConnectorStack = Filter | readonly Filter[] | ((target: ConnectorTarget) => Filter | readonly Filter[]);

/** The filters for one target. */
export function filtersFor(stack: ConnectorStack, target: ConnectorTarget): Filter | readonly Filter[] {
  return typeof stack === 'function' ? stack(target) : stack;
}

/**
 * Whether a stack given as filters has a TLS client layer (`tls.client()`
 * marks its filters so, whatever they are named); `undefined` for a
 * function, which cannot be known before it runs.
 */
export function stackHasTlsClient(stack: ConnectorStack): boolean | undefined {
  if (typeof stack === 'function') return undefined;
  const has = (filters: readonly Filter[]): boolean =>
    filters.some((filter) => (filter instanceof Stack ? has(filter.filters) : isSecureClientFilter(filter)));
  return has(Array.isArray(stack) ? (stack as readonly Filter[]) : [stack as Filter]);
}

/**
 * The host a TLS client layer sends as SNI and checks the certificate
 * against: the request's server name, else the host it names. It reaches the
 * layer as `wrap()`'s `remote.host`, where `tls.client()` looks by default.
 */
export function tlsHostOf(target: ConnectorTarget): string {
  return target.servername || target.host;
}

/**
 * Fails closed: a connection for an `https:` request whose stack made no TLS
 * layer is destroyed, and the error says why, so that no request meant to
 * be encrypted goes out in clear.
 */
export function requireTlsFor(target: ConnectorTarget, conn: Connection, who: string): WirestackError | null {
  if (target.protocol !== 'https:' || conn.encrypted) return null;
  const error = new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT',
    `${who}: an https: request, but the stack has no TLS layer (add tls.client() to it)`, { layer: 'connection' });
  conn.destroy(error);
  return error;
}

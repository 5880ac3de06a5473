// Finds the TLS filter if this checkout has it. The TLS filter is built on its
// own branch; until it is merged the TLS rows print "not available".
import { type Connection, type Filter, wirestack } from './wirestack.js';

/** The part of wirestack's `tls` export the benchmarks use. */
export interface TlsFilters {
  client(options: Record<string, unknown>): Filter;
  server(options: Record<string, unknown>): Filter;
}

/** wirestack's `tls` filters, or null when this checkout has none. */
export function tlsFilters(): TlsFilters | null {
  const tls = (wirestack as Record<string, unknown>)['tls'] as Partial<TlsFilters> | undefined;
  return tls && typeof tls.client === 'function' && typeof tls.server === 'function' ? (tls as TlsFilters) : null;
}

/** Why a TLS row could not run. */
export const NO_TLS = 'the TLS filter is not on this branch yet (wirestack exports no `tls`)';

/** Resolves when the connection's TLS handshake has finished (`conn.secured`). */
export async function whenSecured(conn: Connection): Promise<SecuredInfo> {
  const secured = (conn as unknown as { secured?: PromiseLike<SecuredInfo> }).secured;
  if (!secured || typeof secured.then !== 'function') throw new Error('this TLS filter gives no conn.secured');
  return secured;
}

/** The part of what `conn.secured` resolves with that the benchmarks read. */
export interface SecuredInfo {
  readonly protocol?: string;
  readonly resumed?: boolean;
}

/**
 * The first session the connection's TLS layer offers for resumption (its
 * `'session'` event), or null if none came within `ms` after the handshake.
 * Call it right after connecting, before the handshake can finish.
 */
export function sessionOf(conn: Connection, ms = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onSession = (session: Buffer): void => {
      clearTimeout(timer);
      resolve(session);
    };
    conn.once('session', onSession);
    whenSecured(conn).then(() => {
      timer = setTimeout(() => {
        conn.off('session', onSession);
        resolve(null);
      }, ms);
    }, () => resolve(null));
  });
}

/** Whether the handshake resumed a session. */
export async function wasResumed(conn: Connection): Promise<boolean> {
  return (await whenSecured(conn)).resumed === true;
}

/** Which path the connection's TLS layer took: `'native'` (OpenSSL on the socket handle) or `'stream'`. */
export function tlsPath(conn: Connection): string {
  return (conn as unknown as { tls?: { path?: string } }).tls?.path ?? 'unknown';
}

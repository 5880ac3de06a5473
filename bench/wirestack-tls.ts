// Finds the TLS filter if this checkout has it. The TLS filter is built on its
// own branch; until it is merged the TLS rows print "not available".
import * as wirestack from '../lib/index.js';
import type { Filter } from '../lib/index.js';

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

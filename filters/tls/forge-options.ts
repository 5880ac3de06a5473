/**
 * What the forge engine refuses, checked without node-forge: the filter
 * refuses it when it is made, before node-forge has been loaded (see
 * forge-lazy.ts). Every option forge cannot honour is refused by name,
 * never ignored.
 */
import type { EngineConfig } from './engine.js';
import { unsupported } from './errors.js';
import { refuseNonRsa } from './forge-key-types.js';

// Cipher suites by their OpenSSL and IANA names; forge has no others.
const SUITES: Readonly<Record<string, string>> = {
  'AES128-SHA': 'TLS_RSA_WITH_AES_128_CBC_SHA',
  'AES256-SHA': 'TLS_RSA_WITH_AES_256_CBC_SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'TLS_RSA_WITH_AES_256_CBC_SHA',
};

/** Throws `ERR_WIRESTACK_TLS_UNSUPPORTED` for the first option the forge engine cannot honour. */
export function refuseUnsupported(config: EngineConfig): void {
  if (config.minVersion !== 'TLSv1' && config.minVersion !== 'TLSv1.1') {
    unsupported('minVersion', `the forge engine speaks TLS 1.0 and 1.1 only; pass minVersion: 'TLSv1' (or 'TLSv1.1' on a client) to accept them (it is ${config.minVersion}, the default, otherwise)`);
  }
  if (config.role === 'server' && config.minVersion !== 'TLSv1') {
    unsupported('minVersion', 'a forge server negotiates TLS 1.0 only; pass minVersion: \'TLSv1\'');
  }
  if (config.alpn !== undefined) unsupported('alpn', 'node-forge has no ALPN');
  if (config.session !== undefined) unsupported('session', 'the forge engine does not resume sessions');
  if (config.ticketKeys !== undefined) unsupported('ticketKeys', 'the forge engine does not resume sessions');
  if (config.sni !== undefined) unsupported('sni', 'the forge engine has no SNI callback');
  if (config.pfx !== undefined) unsupported('pfx', 'the forge engine takes PEM cert and key only');
  if (config.secureOptions !== undefined) unsupported('secureOptions', 'it holds OpenSSL flags');
  suiteNames(config.ciphers);
  refuseNonRsa(config);
}

/** The IANA names of the suites a `ciphers` option names (undefined: both). */
export function suiteNames(ciphers: string | undefined): string[] {
  if (ciphers === undefined) return ['TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA'];
  const names = ciphers.split(/[:, ]+/).filter((name) => name !== '' && !name.startsWith('@'));
  const suites = names.map((name) => SUITES[name] ?? unsupported('ciphers', `the forge engine has only AES128-SHA and AES256-SHA, not "${name}"`));
  if (suites.length === 0) unsupported('ciphers', 'no cipher suite named');
  return [...new Set(suites)];
}

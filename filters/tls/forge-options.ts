/**
 * What the forge engine refuses, checked without node-forge: the filter
 * refuses it when it is made, before node-forge has been loaded (see
 * forge-lazy.ts). Every option forge cannot honour is refused by name,
 * never ignored.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { WirestackError } from '../../lib/errors.js';
import type { EngineConfig, Pem } from './engine.js';

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

// node-forge reads RSA keys and certificates only: what Node's crypto reads
// as another kind (or cannot read) is refused now, not at the first handshake.
function refuseNonRsa(config: EngineConfig): void {
  for (const [i, pem] of pemBlocks(config.ca, 'CERTIFICATE').entries()) rsaCertificate(pem, 'ca', `CA certificate #${i + 1}`);
  const own = pemBlocks(config.cert, 'CERTIFICATE')[0];
  if (own !== undefined) rsaCertificate(own, 'cert', 'certificate #1');
  const key = pemBlocks(config.key, '(?:RSA |ENCRYPTED )?PRIVATE KEY')[0];
  if (key === undefined) return;
  let type: string | undefined;
  try {
    type = createPrivateKey({ key, ...(config.passphrase === undefined ? {} : { passphrase: config.passphrase }) }).asymmetricKeyType;
  } catch (err) {
    unsupported('key', `the forge engine cannot read the private key (RSA only): ${(err as Error).message}`);
  }
  if (type !== 'rsa') unsupported('key', `the forge engine reads RSA private keys only, not ${type}`);
}

function rsaCertificate(pem: string, option: 'ca' | 'cert', what: string): void {
  let type: string | undefined;
  try {
    type = new X509Certificate(pem).publicKey.asymmetricKeyType;
  } catch (err) {
    unsupported(option, `the forge engine cannot read ${what}: ${(err as Error).message}`);
  }
  if (type !== 'rsa') unsupported(option, `the forge engine reads RSA certificates only (${what} holds a ${type} key)`);
}

function pemBlocks(pems: Pem | readonly Pem[] | undefined, kind: string): string[] {
  if (pems === undefined) return [];
  const list = Array.isArray(pems) ? (pems as readonly Pem[]) : [pems as Pem];
  const block = new RegExp(`-----BEGIN ${kind}-----[\\s\\S]*?-----END ${kind}-----`, 'g');
  return list.flatMap((pem) => (typeof pem === 'string' ? pem : pem.toString('latin1')).match(block) ?? []);
}

/** Throws the forge engine's refusal of `option`. */
export function unsupported(option: string, why: string): never {
  throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', `tls: option "${option}" is not supported: ${why}`, { layer: 'tls' });
}

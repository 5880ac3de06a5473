/**
 * node-forge reads RSA keys and certificates only. What Node's crypto reads
 * as another kind (or cannot read) is refused when the filter is made, not
 * at the first handshake, and without loading node-forge (forge-lazy.ts).
 * The browser build bundles node-forge and checks with it at once
 * (forge-key-types.browser.ts).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { EngineConfig, Pem } from './engine.js';
import { unsupported } from './errors.js';

/** Throws `ERR_WIRESTACK_TLS_UNSUPPORTED` for a CA, certificate or key that is not RSA. */
export function refuseNonRsa(config: EngineConfig): void {
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


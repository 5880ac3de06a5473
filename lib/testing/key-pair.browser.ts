// The browser twin of key-pair.ts: WebCrypto makes keys only asynchronously
// and makeCertificates() is synchronous, so forge makes them (seconds each;
// forge's random numbers come from crypto.getRandomValues in a page).
import forge from 'node-forge';
import { useSecureRandom } from '../../filters/tls/forge-random.js';

/** A new RSA 2048 key pair for a test certificate, made by node-forge. */
export function newKeyPair(): forge.pki.rsa.KeyPair {
  useSecureRandom();
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

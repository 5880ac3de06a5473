// The browser twin of forge-random.ts. forge picks its source by guessing
// whether it runs on Node; a page, a worker, or a Node-like runtime running
// this bundle could each fool the guess (and forge's fallback without
// WebCrypto is the time and the user agent). So its default generator is
// seeded from crypto.getRandomValues, explicitly, or forge is not used.
import forge from 'node-forge';
import { unsupportedRuntime } from '../../lib/runtime.js';

// Bytes per getRandomValues call (at most 65536), small enough to turn into a string in one call.
const MAX_PER_CALL = 8192;
let done = false;

/** Seeds forge's generator from WebCrypto; throws where there is none. */
export function useSecureRandom(): void {
  if (done) return;
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: <T extends Uint8Array>(array: T) => T } }).crypto;
  const getRandomValues = webCrypto?.getRandomValues?.bind(webCrypto);
  if (getRandomValues === undefined) throw unsupportedRuntime('the forge TLS engine', 'a secure random source (crypto.getRandomValues)');
  (forge.random as unknown as { seedFileSync: (needed: number) => string }).seedFileSync = (needed) => {
    let seed = '';
    for (let left = needed; left > 0; left -= MAX_PER_CALL) {
      seed += forge.util.binary.raw.encode(getRandomValues(new Uint8Array(Math.min(left, MAX_PER_CALL))));
    }
    return seed;
  };
  done = true;
}

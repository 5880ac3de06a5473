// The browser twin of sha256.ts: WebCrypto's digest is one-shot and
// asynchronous, and the checks hash streams as they arrive, so this is
// node-forge's incremental SHA-256 (pure JavaScript, already in the bundle).
import forge from 'node-forge';
import type { Sha256 } from './sha256.js';

export type { Sha256 } from './sha256.js';

// forge takes binary strings; a large chunk is converted in slices.
const SLICE = 8 * 1024;

/** SHA-256 in JavaScript (node-forge). */
export function sha256(): Sha256 {
  const hash = forge.md.sha256.create();
  const self: Sha256 = {
    update(bytes) {
      for (let i = 0; i < bytes.length; i += SLICE) {
        hash.update(String.fromCharCode(...bytes.subarray(i, i + SLICE)));
      }
      return self;
    },
    digest: () => hash.digest().toHex(),
  };
  return self;
}

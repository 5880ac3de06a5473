import { createHash } from 'node:crypto';

/** An incremental SHA-256 whose digest is lower-case hex. */
export interface Sha256 {
  update(bytes: Uint8Array): Sha256;
  digest(): string;
}

/** SHA-256 from Node's crypto (OpenSSL); the browser build has a JavaScript twin. */
export function sha256(): Sha256 {
  const hash = createHash('sha256');
  const self: Sha256 = {
    update(bytes) {
      hash.update(bytes);
      return self;
    },
    digest: () => hash.digest('hex'),
  };
  return self;
}

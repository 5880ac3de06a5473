/**
 * A stand-in TLS filter for these tests: Node's TLSSocket over whatever
 * layer is below, with a throwaway certificate made by the openssl CLI.
 * (The real tls filter is built elsewhere; these tests only need real TLS
 * bytes on the wire and plaintext above.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Filter } from '../../lib/index.js';

/** A self-signed certificate for `localhost` and its key, in PEM. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

let cached: TestCertificate | undefined;

/** Makes (once per test file) a P-256 certificate for `localhost`. */
export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    ], { stdio: 'ignore' });
    cached = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Node's TLS as a filter: the client verifies the test certificate; `maxVersion` pins a version. */
export function nodeTls(role: 'client' | 'server', options: { maxVersion?: tls.SecureVersion } = {}): Filter {
  const { cert, key } = testCertificate();
  return {
    name: 'tls',
    attach(lower) {
      if (role === 'client') {
        return tls.connect({ socket: lower, ca: cert, servername: 'localhost', ...options });
      }
      const socket = new tls.TLSSocket(lower, {
        isServer: true,
        secureContext: tls.createSecureContext({ cert, key, ...options }),
      });
      // A server-side TLSSocket over a Duplex reports failures only as '_tlsError'.
      socket.on('_tlsError', (err: Error) => socket.destroy(err));
      return socket;
    },
  };
}

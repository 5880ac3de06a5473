// The certificate every TLS row uses: one self-signed ECDSA P-256 certificate
// for localhost, which is also its own CA, made once per run with the
// openssl command (the same key and certificate for native and wirestack).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM key and certificate; `ca` is the certificate itself. */
export interface BenchCertificates {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

let made: BenchCertificates | null = null;

/** Makes (once) and returns the certificate for `localhost` / 127.0.0.1. */
export function benchCertificates(): BenchCertificates {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-bench-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
    ], { stdio: 'ignore' });
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    made = { key, cert, ca: cert };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return made;
}

// The certificates the TLS rows use: self-signed for localhost, each its own
// CA, made once per run with the openssl command and handed to every
// measuring process in its environment (the same key and certificate for
// the baseline and for wirestack).
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

// The variable that carries the runner's certificates to the processes it starts.
const SHARED = 'WIRESTACK_BENCH_CERTIFICATES';

interface Shared {
  readonly ecdsa: BenchCertificates;
  readonly rsa: BenchCertificates;
}

const inherited = process.env[SHARED] ? (JSON.parse(process.env[SHARED]) as Shared) : null;
let ecdsa: BenchCertificates | null = inherited?.ecdsa ?? null;
let rsa: BenchCertificates | null = inherited?.rsa ?? null;

/** Makes (once) and returns the ECDSA P-256 certificate for `localhost` / 127.0.0.1. */
export function benchCertificates(): BenchCertificates {
  ecdsa ??= selfSigned(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
  return ecdsa;
}

/** The same with an RSA 2048 key, for node-forge (it speaks only RSA key exchange). */
export function benchRsaCertificates(): BenchCertificates {
  rsa ??= selfSigned(['-newkey', 'rsa:2048']);
  return rsa;
}

/** The environment entry that gives a child process this process's certificates. */
export function certificatesEnv(): Record<string, string> {
  const shared: Shared = { ecdsa: benchCertificates(), rsa: benchRsaCertificates() };
  return { [SHARED]: JSON.stringify(shared) };
}

function selfSigned(keyArgs: readonly string[]): BenchCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-bench-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', ...keyArgs, '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
    ], { stdio: 'ignore' });
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    return { key, cert, ca: cert };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `wirestack --version`: the package's version, and the Node and OpenSSL
 * it runs on (what a bug report needs), as `ncat --version` answers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `wirestack 0.1.0 (Node v20.20.2, OpenSSL 3.0.19)`. */
export function versionLine(): string {
  return `wirestack ${packageVersion()} (Node ${process.version}, OpenSSL ${process.versions.openssl})`;
}

// The version in the package.json above this file: two levels up from the
// built dist/bin/wirestack.js, one from bin/ when run from source.
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'wirestack' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

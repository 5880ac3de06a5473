// The library under test. The benchmarks measure what users run: the built
// package (dist/esm), not the TypeScript sources through tsx, whose esbuild
// transform adds work a build does not have (keepNames redefines the `name`
// of every closure, which alone made each layer ~1.5 KiB heavier).
// WIRESTACK_BENCH_SOURCE=1 measures the sources instead; so does a checkout
// with no build or a build older than its sources (the runner says which).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Api from '../lib/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist/esm/index.js');

// The newest modification time of the .ts files under `dir`.
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function choose(): { specifier: string; description: string } {
  if (process.env['WIRESTACK_BENCH_SOURCE'] === '1') return { specifier: '../lib/index.js', description: 'lib/ sources through tsx (WIRESTACK_BENCH_SOURCE=1)' };
  if (!existsSync(built)) return { specifier: '../lib/index.js', description: 'lib/ sources through tsx (no build: run npm run build)' };
  const builtAt = statSync(built).mtimeMs;
  if (Math.max(newestSource(join(root, 'lib')), newestSource(join(root, 'filters'))) > builtAt) {
    return { specifier: '../lib/index.js', description: 'lib/ sources through tsx (the build is older than the sources: run npm run build)' };
  }
  return { specifier: pathToFileURL(built).href, description: `the build, dist/esm (built ${new Date(builtAt).toISOString()})` };
}

const chosen = choose();

/** Which code the numbers are for, printed with the table. */
export const libraryUnderTest: string = chosen.description;

/** The whole public API, from the build or the sources. */
export const wirestack = (await import(chosen.specifier)) as typeof Api;

export const { connect, listen, identity, duplexPair, wrap, Layer } = wirestack;
export type { Connection, Filter } from '../lib/index.js';

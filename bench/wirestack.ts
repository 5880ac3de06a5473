// The library under test. The benchmarks measure what users run: the built
// package (dist/esm), not the TypeScript sources through tsx, whose esbuild
// transform adds work a build does not have (keepNames redefines the `name`
// of every closure, which alone made each layer ~1.5 KiB heavier).
// WIRESTACK_BENCH_SOURCE=1 measures the sources instead; so does a checkout
// with no build or a build older than its sources (the runner says which).
// WIRESTACK_BENCH_BUILD=/path/to/dist/esm/index.js measures another build
// with this harness (e.g. main's, to compare two builds row by row).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Api from '../lib/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist/esm/index.js');

// The files with extension `ext` under `dir`, recursively.
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, ext);
    return entry.name.endsWith(ext) ? [path] : [];
  });
}

// The newest modification time of the .ts files under `dir`.
function newestSource(dir: string): number {
  return Math.max(0, ...filesUnder(dir, '.ts').map((path) => statSync(path).mtimeMs));
}

const sources = { specifier: '../lib/index.js', files: () => [...filesUnder(join(root, 'lib'), '.ts'), ...filesUnder(join(root, 'filters'), '.ts')] };

function choose(): { specifier: string; description: string; files(): string[] } {
  const other = process.env['WIRESTACK_BENCH_BUILD'];
  if (other) {
    const path = resolve(other);
    // The measuring processes start elsewhere: they inherit the path made absolute.
    process.env['WIRESTACK_BENCH_BUILD'] = path;
    return { specifier: pathToFileURL(path).href, description: `the build at ${path} (WIRESTACK_BENCH_BUILD)`, files: () => filesUnder(dirname(path), '.js') };
  }
  if (process.env['WIRESTACK_BENCH_SOURCE'] === '1') return { ...sources, description: 'lib/ sources through tsx (WIRESTACK_BENCH_SOURCE=1)' };
  if (!existsSync(built)) return { ...sources, description: 'lib/ sources through tsx (no build: run npm run build)' };
  const builtAt = statSync(built).mtimeMs;
  if (Math.max(newestSource(join(root, 'lib')), newestSource(join(root, 'filters'))) > builtAt) {
    return { ...sources, description: 'lib/ sources through tsx (the build is older than the sources: run npm run build)' };
  }
  return { specifier: pathToFileURL(built).href, description: `the build, dist/esm (built ${new Date(builtAt).toISOString()})`, files: () => filesUnder(dirname(built), '.js') };
}

const chosen = choose();

/** Which code the numbers are for, printed with the table. */
export const libraryUnderTest: string = chosen.description;

/** Whether the code under test reads WIRESTACK_NODE_INTERNALS (`--no-internals` changes nothing where it does not). */
export function readsInternalsSwitch(): boolean {
  return chosen.files().some((path) => readFileSync(path, 'utf8').includes('WIRESTACK_NODE_INTERNALS'));
}

/** The whole public API, from the build or the sources. */
export const wirestack = (await import(chosen.specifier)) as typeof Api;

export const { connect, listen, identity, duplexPair, wrap, Layer } = wirestack;
export type { Connection, Filter } from '../lib/index.js';

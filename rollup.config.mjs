// Builds the public entry points as ES modules and CommonJS, plus bundled .d.ts,
// the `wirestack` command as an executable ES module (dist/bin/wirestack.js),
// and the browser build (dist/browser): one ES module bundle per entry point
// with everything it needs inside.
import commonjs from '@rollup/plugin-commonjs';
import inject from '@rollup/plugin-inject';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { builtinModules, createRequire } from 'node:module';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
];
const entries = { index: 'lib/index.ts', testing: 'lib/testing/index.ts' };

// Optional peers (undici) may be missing where the declarations are read:
// their imports are marked so that a consumer without them still compiles
// (the types from them are then `any`), even with skipLibCheck off.
const optionalPeers = Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional).map(([name]) => name);
const optionalPeerImports = () => ({
  name: 'optional-peer-imports',
  renderChunk(code) {
    let out = code;
    for (const peer of optionalPeers) {
      out = out.replace(new RegExp(`^import (.*) from '${peer}';$`, 'gm'),
        `// @ts-ignore -- ${peer} is an optional peer dependency and may not be installed\nimport $1 from '${peer}';`);
    }
    return { code: out, map: null };
  },
});

// Source maps point at the TypeScript sources the package ships (lib/,
// filters/, bin/), from wherever the map sits; the plugin's own paths are
// relative to its outDir, which is not where the maps end up.
const root = fileURLToPath(new URL('.', import.meta.url));
const sourceMaps = {
  sourcemap: true,
  sourcemapExcludeSources: true,
  sourcemapPathTransform: (source, mapPath) => relative(dirname(mapPath), resolve(root, source.replace(/^(\.\.\/)+/, ''))),
};

// `npm install` links the bin without making it executable when it is not already.
const executable = () => ({
  name: 'executable',
  writeBundle(options, bundle) {
    for (const file of Object.keys(bundle)) if (bundle[file].isEntry) chmodSync(join(options.dir, file), 0o755);
  },
});

// The browser build takes, for every module with a twin named *.browser.ts,
// the twin: readable-stream for node:stream (lib/stream.browser.ts), fflate
// for zlib, forge for X509Certificate, and, for the parts that need Node
// (TCP, the node TLS engine), stand-ins that fail with
// ERR_WIRESTACK_UNSUPPORTED_RUNTIME naming the runtime.
const browserTwins = () => ({
  name: 'browser-twins',
  async resolveId(source, importer, options) {
    if (importer === undefined || !source.startsWith('.')) return null;
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    if (resolved === null || !resolved.id.endsWith('.ts') || resolved.id.endsWith('.browser.ts')) return null;
    const twin = resolved.id.replace(/\.ts$/, '.browser.ts');
    return existsSync(twin) ? twin : null;
  },
});

// A Node module left in the browser build is a bug: the build fails naming it.
const noNodeModules = () => ({
  name: 'no-node-modules',
  resolveId(source, importer) {
    if (source.startsWith('node:')) this.error(`${source}, imported by ${importer}, has no place in the browser build (give that module a .browser.ts twin)`);
    return null;
  },
});

export default [
  {
    input: entries,
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/esm' })],
    output: { dir: 'dist/esm', format: 'es', ...sourceMaps, chunkFileNames: 'chunks/[name]-[hash].js' },
  },
  {
    input: entries,
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/cjs' })],
    output: {
      dir: 'dist/cjs', format: 'cjs', ...sourceMaps, exports: 'named',
      entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs',
    },
  },
  // Declarations twice: .d.ts for import, .d.cts for require, so TypeScript
  // gives each kind of consumer declarations of its own module kind.
  {
    input: entries,
    external,
    plugins: [dts({ tsconfig: './tsconfig.build.json' }), optionalPeerImports()],
    output: [
      { dir: 'dist/types', format: 'es', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
      { dir: 'dist/types', format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: 'chunks/[name]-[hash].d.cts' },
    ],
  },
  {
    input: { wirestack: 'bin/wirestack.ts' },
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/bin' }), executable()],
    output: { dir: 'dist/bin', format: 'es', ...sourceMaps, banner: (chunk) => (chunk.isEntry ? '#!/usr/bin/env node' : ''), chunkFileNames: 'chunks/[name]-[hash].js' },
  },
  {
    input: entries,
    plugins: [
      noNodeModules(),
      browserTwins(),
      typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/browser' }),
      // The packages' browser versions (node-forge's without node:crypto), and no built-ins:
      // events, buffer and process are the npm packages of those names.
      nodeResolve({ browser: true, preferBuiltins: false }),
      commonjs(),
      // By path: node-forge's browser field maps its own 'buffer' to nothing.
      inject({ Buffer: [createRequire(import.meta.url).resolve('buffer/'), 'Buffer'] }),
    ],
    // readable-stream's modules import each other in circles, harmlessly.
    onwarn(warning, warn) {
      if (warning.code === 'CIRCULAR_DEPENDENCY' && warning.ids?.every((id) => id.includes('node_modules'))) return;
      warn(warning);
    },
    // Its maps carry the sources' text: the packages bundled in it (readable-stream, forge, pako) are not shipped.
    output: { dir: 'dist/browser', format: 'es', ...sourceMaps, sourcemapExcludeSources: false, chunkFileNames: 'chunks/shared-[hash].js' },
  },
];

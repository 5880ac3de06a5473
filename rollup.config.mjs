// Builds the public entry points as ES modules and CommonJS, plus bundled .d.ts,
// and the `wirestack` command as an executable ES module (dist/bin/wirestack.js).
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { builtinModules } from 'node:module';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies ?? {}),
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

// `npm install` links the bin without making it executable when it is not already.
const executable = () => ({
  name: 'executable',
  writeBundle(options, bundle) {
    for (const file of Object.keys(bundle)) if (bundle[file].isEntry) chmodSync(join(options.dir, file), 0o755);
  },
});

export default [
  {
    input: entries,
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/esm' })],
    output: { dir: 'dist/esm', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
  },
  {
    input: entries,
    external,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist/cjs' })],
    output: {
      dir: 'dist/cjs', format: 'cjs', sourcemap: true, exports: 'named',
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
    output: { dir: 'dist/bin', format: 'es', sourcemap: true, banner: (chunk) => (chunk.isEntry ? '#!/usr/bin/env node' : ''), chunkFileNames: 'chunks/[name]-[hash].js' },
  },
];

// Builds the public entry points as ES modules and CommonJS, plus bundled .d.ts.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies ?? {}),
];
const entries = { index: 'lib/index.ts', testing: 'lib/testing/index.ts' };

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
    plugins: [dts({ tsconfig: './tsconfig.build.json' })],
    output: [
      { dir: 'dist/types', format: 'es', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
      { dir: 'dist/types', format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: 'chunks/[name]-[hash].d.cts' },
    ],
  },
];

// The core subset (core-subset.mjs) in Bun and Deno, with the binaries
// their npm packages ship, on the built package imported by name; and in
// Node, the same script, for comparison. What each runtime does is pinned
// here, check by check, and the README's runtime table says the same.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../cli.js';

const ROOT = join(import.meta.dirname, '..', '..');

// Where the npm packages put their binaries (the bun package's postinstall
// moves its platform package's binary into bin/; without it, it stays there).
const RUNTIMES = {
  node: { command: [], binaries: [process.execPath] },
  bun: { command: [], binaries: ['node_modules/bun/bin/bun.exe', 'node_modules/@oven/bun-linux-x64/bin/bun', 'node_modules/@oven/bun-linux-x64-baseline/bin/bun'] },
  deno: { command: ['run', '--allow-all'], binaries: ['node_modules/deno/deno', 'node_modules/@deno/linux-x64-glibc/deno'] },
} as const;

const ALL_CHECKS = ['memory-pair', 'checkFilter-identity', 'checkFilter-log-deflate', 'checkFilter-testing-filters', 'checkFilter-tcp', 'tcp-connect-listen',
  'tls-forge-memory', 'tls-forge-tcp', 'tls-node-memory', 'tls-node-tcp', 'websocket'];
const NODE_ENGINE_REFUSED = /^ERR_WIRESTACK_UNSUPPORTED_RUNTIME: tls: the node engine fails wirestack's conformance checks on (Bun|Deno) /;

let project: string;

beforeAll(() => {
  assertBuilt();
  // A project that depends on wirestack: node_modules/wirestack is this package.
  project = mkdtempSync(join(tmpdir(), 'wirestack-runtime-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules', 'wirestack'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-wirestack', private: true, type: 'module', dependencies: { wirestack: '*' } }));
  copyFileSync(join(import.meta.dirname, 'core-subset.mjs'), join(project, 'core-subset.mjs'));
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

// The first candidate that runs, and what it says its version is.
function binary(name: keyof typeof RUNTIMES): { bin: string; version: string } {
  for (const candidate of RUNTIMES[name].binaries.map((b) => (b.startsWith('/') ? b : join(ROOT, b)))) {
    if (!existsSync(candidate)) continue;
    try {
      return { bin: candidate, version: execFileSync(candidate, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim() };
    } catch {
      // A placeholder left by an install that did not run the package's postinstall: try the next.
    }
  }
  throw new Error(`no ${name} binary that runs in node_modules (npm ci installs one: the ${name} package is a devDependency)`);
}

interface Outcome {
  name: string;
  ok: boolean;
  error?: string;
}

// Runs core-subset.mjs in the runtime; resolves with each check's outcome and the runtime's version.
async function runSubset(name: keyof typeof RUNTIMES): Promise<{ version: string; outcomes: Map<string, Outcome> }> {
  const { bin, version } = binary(name);
  const child = spawn(bin, [...RUNTIMES[name].command, 'core-subset.mjs'], { cwd: project, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const outcomes = new Map<string, Outcome>();
  let build = '';
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as Outcome | { build: string };
    if ('build' in parsed) build = parsed.build;
    else outcomes.set(parsed.name, parsed);
  }
  expect(code, `${name} ${version} exited with ${code}:\n${stderr}`).toBe(0);
  expect([...outcomes.keys()], stderr).toEqual(ALL_CHECKS);
  // Node's ES module build: the `import` condition, as for Node.
  expect(build).toMatch(/\/dist\/esm\/index\.js$/);
  return { version, outcomes };
}

function failures(outcomes: Map<string, Outcome>, except: readonly string[] = []): string[] {
  return [...outcomes.values()].filter((o) => !o.ok && !except.includes(o.name)).map((o) => `${o.name}: ${o.error}`);
}

describe('the core subset in other runtimes', () => {
  it('Node: every check passes (the reference)', async () => {
    const { outcomes } = await runSubset('node');
    expect(failures(outcomes)).toEqual([]);
  });

  for (const name of ['bun', 'deno'] as const) {
    it(`${name}: memory pairs, checkFilter (memory and TCP), TCP connect/listen, log, deflate, forge TLS and WebSockets pass; the node engine refuses with a coded error`, async () => {
      const { version, outcomes } = await runSubset(name);
      expect(version).toMatch(/\d+\.\d+\.\d+/);
      expect(failures(outcomes, ['tls-node-memory', 'tls-node-tcp'])).toEqual([]);
      for (const check of ['tls-node-memory', 'tls-node-tcp']) {
        expect(outcomes.get(check)!.error, check).toMatch(NODE_ENGINE_REFUSED);
      }
    });
  }
});

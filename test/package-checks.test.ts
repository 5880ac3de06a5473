// The package as the ecosystem checks it: packed with npm pack, then
// arethetypeswrong and publint, a consumer project type-checked against the
// tarball (ESM and CJS, skipLibCheck off), and its source maps resolved.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const run = (file: string, args: string[], cwd = root) => promisify(execFile)(file, args, { cwd, timeout: 120_000, maxBuffer: 16 << 20 });

let scratch: string;
let tarball: string;
// The tarball's contents, as `npm install` would lay them out.
let unpacked: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'wirestack-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch]);
  tarball = join(scratch, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  unpacked = join(scratch, 'unpacked');
  mkdirSync(unpacked);
  await run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A consumer project: the package in node_modules as npm lays it out, Node's
// types (and, when asked, undici) linked from here. Under --module nodenext
// a .mts file is an ES module and a .cts file CommonJS, whatever the project.
function consumer(name: string, files: Record<string, string>, links: string[]): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  // A copy, not a link: types the package imports (undici) resolve from where it sits, as in a real install.
  cpSync(unpacked, join(dir, 'node_modules', 'wirestack'), { recursive: true });
  for (const link of links) symlinkSync(join(root, 'node_modules', link), join(dir, 'node_modules', link));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  // --module nodenext implies --target esnext: the setting the issue saw fail.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    files: Object.keys(files),
  }));
  for (const [file, code] of Object.entries(files)) writeFileSync(join(dir, file), code);
  return dir;
}

// tsc's diagnostics, '' when the project type-checks.
async function typecheck(dir: string): Promise<string> {
  try {
    await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]);
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

const USES = `
const [a, b] = duplexPair();
const conn: Connection = wrap(a, [log({ format: 'summary' }), meter()], { role: 'client' });
const same: Connection = conn.setTimeout(1000).setKeepAlive(true).setNoDelay(true).ref().unref();
const port: number | undefined = same.remotePort;
const state: 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' = conn.readyState;
const layers: readonly LayerInfo[] = conn.layers;
const pooled: http.Agent = agent([tls.client({ servername: 'localhost' })]);
const perRequest = agent((target: ConnectorTarget) => [tls.client({ servername: target.servername || target.host })], { protocol: 'https:' });
const secure = tls.server(makeCertificates().server);
void [port, state, layers, pooled, perRequest, secure, WirestackError, connect, listen];
`;

describe('the packed package', () => {
  it('arethetypeswrong finds no problem', async () => {
    const { stdout } = await run(bin('attw'), [tarball, '--format', 'ascii']);
    expect(stdout).toContain('No problems found');
  });

  it('publint finds nothing to say, not even a suggestion', async () => {
    const { stdout } = await run(bin('publint'), ['run', tarball, '--strict']);
    expect(stdout).toContain('All good!');
  });

  it.concurrent('type-checks in an ES module and a CommonJS consumer with skipLibCheck off (and no undici installed)', async () => {
    const dir = consumer('consumer', {
      'esm.mts': `
import http from 'node:http';
import { type Connection, type ConnectorTarget, type LayerInfo, WirestackError, agent, connect, dispatcher, listen, log, meter, tls, wrap } from 'wirestack';
import { duplexPair, makeCertificates } from 'wirestack/testing';
${USES}
for await (const chunk of conn) { const bytes: Buffer = chunk; void bytes; }
await using disposed = wrap(b, []);
void disposed;
void dispatcher;
`,
      'cjs.cts': `
import http = require('node:http');
import { type Connection, type ConnectorTarget, type LayerInfo, WirestackError, agent, connect, listen, log, meter, tls, wrap } from 'wirestack';
import { duplexPair, makeCertificates } from 'wirestack/testing';
async function main(): Promise<void> {
${USES}
  for await (const chunk of conn) { const bytes: Buffer = chunk; void bytes; }
}
void main;
`,
    }, ['@types/node', 'undici-types']);
    expect(await typecheck(dir)).toBe('');
  });

  it.concurrent('with undici installed, dispatcher() is typed as its Dispatcher', async () => {
    const dir = consumer('undici-consumer', { 'index.mts': `
import { type Dispatcher, fetch } from 'undici';
import { dispatcher, tls } from 'wirestack';
const via: Dispatcher = dispatcher([tls.client({ alpn: ['h2', 'http/1.1'] })], { connectTimeout: 5000 });
// @ts-expect-error -- a Dispatcher is not a string: proves the type is not \`any\`
const wrong: string = dispatcher([]);
void fetch('https://localhost/', { dispatcher: via });
void wrong;
` }, ['@types/node', 'undici-types', 'undici']);
    expect(await typecheck(dir)).toBe('');
  });

  it.concurrent('type-checks a browser project: a bundler resolving the "browser" condition, DOM types, and @types/node', async () => {
    const dir = consumer('browser-consumer', { 'page.ts': `
import { type Connection, deflate, tls, webSocket } from 'wirestack';
import { checkFilter } from 'wirestack/testing';
const conn: Connection = await webSocket(new URL('ws://127.0.0.1:8080/'), [deflate(), tls.client({ engine: 'forge', minVersion: 'TLSv1' })]);
const reply: Buffer | null = await conn.receive();
conn.write(new Uint8Array(3));
const socket: WebSocket = new WebSocket('ws://127.0.0.1:8080/');
await checkFilter(() => ({ client: deflate(), server: deflate() }));
void [reply, socket];
export {};
` }, ['@types/node', 'undici-types']);
    const tsconfig = join(dir, 'tsconfig.json');
    const config = JSON.parse(readFileSync(tsconfig, 'utf8')) as { compilerOptions: Record<string, unknown> };
    Object.assign(config.compilerOptions, { module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'], target: 'es2022', lib: ['es2022', 'dom'] });
    writeFileSync(tsconfig, JSON.stringify(config));
    expect(await typecheck(dir)).toBe('');
  });

  it('ships its source maps with the TypeScript sources they point at, and a LICENSE', () => {
    const maps: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (entry.name.endsWith('.map')) maps.push(join(dir, entry.name));
      }
    };
    walk(join(unpacked, 'dist'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      sources.forEach((source, i) => {
        // The browser build's maps carry the text of what they bundle instead.
        if (typeof sourcesContent?.[i] === 'string') return;
        const path = normalize(join(dirname(map), source));
        if (!path.startsWith(unpacked) || !existsSync(path)) missing.push(`${map}: ${source}`);
      });
    }
    expect(missing).toEqual([]);
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).toMatch(/^MIT License[\s\S]*the wirestack authors/);
    const pkg = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      license: 'MIT',
      repository: { url: 'git+https://github.com/wirestack/wirestack.git' },
      homepage: expect.stringContaining('github.com/wirestack/wirestack'),
      bugs: { url: expect.stringContaining('github.com/wirestack/wirestack/issues') },
    });
    expect(pkg.keywords).toEqual(expect.arrayContaining(['tls', 'socket', 'stream']));
  });
});

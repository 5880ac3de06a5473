import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeCertificates } from '../lib/testing/index.js';

const root = join(import.meta.dirname, '..');
const run = (args: string[]): Promise<{ stdout: string }> => promisify(execFile)(process.execPath, args, { cwd: root });

// The built package, as a user's program loads it (npm test builds first).
describe('the built package', () => {
  it('loads with import, both entry points', async () => {
    const { stdout } = await run(['--input-type=module', '-e', `
      import { connect, listen, wrap, tls, WirestackError } from 'wirestack';
      import { checkFilter, duplexPair, proxy } from 'wirestack/testing';
      console.log([connect, listen, wrap, tls.client, checkFilter, duplexPair, proxy].every((f) => typeof f === 'function'), new WirestackError('ERR_WIRESTACK_EOF', 'x').code);
    `]);
    expect(stdout.trim()).toBe('true ERR_WIRESTACK_EOF');
  });

  it('loads with require, both entry points', async () => {
    const { stdout } = await run(['-e', `
      const { connect, wrap, tls, WirestackError } = require('wirestack');
      const { checkFilter, duplexPair, proxy } = require('wirestack/testing');
      console.log([connect, wrap, tls.client, checkFilter, duplexPair, proxy].every((f) => typeof f === 'function'), new WirestackError('ERR_WIRESTACK_EOF', 'x').code);
    `]);
    expect(stdout.trim()).toBe('true ERR_WIRESTACK_EOF');
  });
});

describe('the Node it runs on', () => {
  // CI runs the suite once per supported Node (scripts/node-versions.sh sets
  // WIRESTACK_EXPECT_NODE): a PATH that put another Node first would show here.
  it('is one that package.json engines names, and the one the run asked for', () => {
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    const majors = engines.node.split('||').map((range) => Number(range.trim()));
    expect(majors).toEqual([20, 22, 24]);
    expect(majors).toContain(Number(process.versions.node.split('.')[0]));
    expect(process.version).toBe(process.env.WIRESTACK_EXPECT_NODE ?? process.version);
  });
});

// node-forge is for the forge engine only: importing wirestack, and TLS on
// the node engine, leave it unloaded; the first forge filter loads it.
describe('node-forge, loaded only for the forge engine', () => {
  const certs = makeCertificates();
  const env = { ...process.env, CA: certs.ca.cert, CERT: certs.server.cert, KEY: certs.server.key };
  // One handshake and a few bytes with the given engine options, over a memory pair.
  const exchange = `
    async function exchange({ tls, duplexPair, wrap }, engine) {
      const [a, b] = duplexPair();
      const c = wrap(a, [tls.client({ ...engine, ca: process.env.CA })], { role: 'client', remote: { host: 'localhost' } });
      const s = wrap(b, [tls.server({ ...engine, cert: process.env.CERT, key: process.env.KEY })], { role: 'server' });
      await c.send('hi');
      const got = (await s.receiveExactly(2)).toString();
      const { protocol } = await c.secured;
      c.destroy();
      s.destroy();
      return got + ' ' + protocol;
    }
    const forgeLoaded = () => Object.keys(require.cache).some((path) => /[\\\\/]node-forge[\\\\/]/.test(path));
    async function report(lib) {
      const seen = [forgeLoaded()];
      seen.push(await exchange(lib, {}), forgeLoaded());
      seen.push(await exchange(lib, { engine: 'forge', minVersion: 'TLSv1' }), forgeLoaded());
      console.log(JSON.stringify(seen));
    }`;
  const expected = [false, 'hi TLSv1.3', false, 'hi TLSv1', true];

  it('import', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      ${exchange}
      await report(await import('wirestack'));
    `], { cwd: root, env });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('require', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', `
      ${exchange}
      report(require('wirestack'));
    `], { cwd: root, env });
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});

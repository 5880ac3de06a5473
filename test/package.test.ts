import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const run = (args: string[]): Promise<{ stdout: string }> => promisify(execFile)(process.execPath, args, { cwd: root });

// The built package, as a user's program loads it (npm test builds first).
describe('the built package', () => {
  it('loads with import, both entry points', async () => {
    const { stdout } = await run(['--input-type=module', '-e', `
      import { connect, listen, wrap, tls, WirestackError } from 'wirestack';
      import { checkFilter, duplexPair } from 'wirestack/testing';
      console.log([connect, listen, wrap, tls.client, checkFilter, duplexPair].every((f) => typeof f === 'function'), new WirestackError('ERR_WIRESTACK_EOF', 'x').code);
    `]);
    expect(stdout.trim()).toBe('true ERR_WIRESTACK_EOF');
  });

  it('loads with require, both entry points', async () => {
    const { stdout } = await run(['-e', `
      const { connect, wrap, tls, WirestackError } = require('wirestack');
      const { checkFilter, duplexPair } = require('wirestack/testing');
      console.log([connect, wrap, tls.client, checkFilter, duplexPair].every((f) => typeof f === 'function'), new WirestackError('ERR_WIRESTACK_EOF', 'x').code);
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

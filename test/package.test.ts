import { execFile } from 'node:child_process';
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

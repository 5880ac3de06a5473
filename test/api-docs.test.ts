// The API reference (`npm run docs:api`, TypeDoc over the TSDoc of the public
// entry points) builds without a warning: every public symbol documented,
// every {@link} resolved, nothing public referring to a type the reference
// leaves out. And it is whole: every value the two entry points export has
// its page.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import * as main from '../lib/index.js';
import * as testing from '../lib/testing/index.js';

const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'wirestack-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Reflection { name: string; children?: Reflection[] }

describe('API reference (TypeDoc)', () => {
  let project: Reflection;

  it('builds with warnings treated as errors', async () => {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const result = await promisify(execFile)(process.execPath,
      [typedoc, '--treatWarningsAsErrors', '--out', join(out, 'html'), '--json', join(out, 'api.json')],
      { cwd: root, timeout: 120_000 }).catch((err: { stdout?: string; stderr?: string; code?: number }) => err);
    // TypeDoc prints its warnings on stdout (in colour); on failure they say what to fix.
    const printed = `${result.stdout ?? ''}${result.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
    expect(printed).not.toMatch(/\[(warning|error)\]/);
    expect((result as { code?: number }).code ?? 0).toBe(0);
    project = JSON.parse(readFileSync(join(out, 'api.json'), 'utf8')) as Reflection;
  }, 150_000);

  it('has a page for every value exported by wirestack and wirestack/testing', () => {
    expect(project, 'the reference was not built').toBeDefined();
    const documented = (module: string): string[] =>
      (project.children?.find((child) => child.name === module)?.children ?? []).map((child) => child.name);
    expect(documented('wirestack')).toEqual(expect.arrayContaining(Object.keys(main)));
    expect(documented('wirestack/testing')).toEqual(expect.arrayContaining(Object.keys(testing)));
  });
});

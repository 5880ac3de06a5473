import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { withErrorCodeTable } from '../scripts/readme-error-codes.js';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// Inside the package, so that `import … from 'wirestack'` resolves to the build.
const scratch = join(root, 'test', '.readme-examples');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  it('lists every error code of lib/errors.ts, and only those (npm run docs:codes rewrites it)', () => {
    expect(readme).toBe(withErrorCodeTable(readme));
  });

  it('shows the two commands for a fresh machine', () => {
    expect(readme).toMatch(/npm install && npm run \w+/);
    expect(readme).toContain('npm test');
  });

  // Every block marked <!-- example: name --> runs unchanged against the built package.
  const examples = [...readme.matchAll(/<!-- example: ([\w-]+) -->\s*```ts\n([\s\S]*?)```/g)];
  it('has runnable examples', () => {
    expect(examples.length).toBeGreaterThan(0);
  });
  for (const [, name, code] of examples) {
    it.concurrent(`example "${name}" runs as written`, async () => {
      mkdirSync(scratch, { recursive: true });
      const file = join(scratch, `${name}.mts`);
      writeFileSync(file, code!);
      const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [file], { cwd: root, timeout: 30_000 });
      expect(stdout.length).toBeGreaterThan(0);
    }, 40_000);
  }
});

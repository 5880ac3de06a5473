import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { withErrorCodeTable } from '../scripts/readme-error-codes.js';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// The README and the pages of docs/ (not the generated API reference), by path from the root.
const pages = new Map<string, string>([
  ['README.md', readme],
  ...readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md'))
    .map((file): [string, string] => [`docs/${file}`, readFileSync(join(root, 'docs', file), 'utf8')]),
]);
// Inside the package, so that `import … from 'wirestack'` resolves to the build.
const scratch = join(root, 'test', '.readme-examples');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Markdown without its fenced code blocks, where `#` lines and brackets are code, not headings or links.
const prose = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```/gm, '');

// The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens.
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

describe('README', () => {
  it('lists every error code of lib/errors.ts, and only those (npm run docs:codes rewrites it)', () => {
    expect(readme).toBe(withErrorCodeTable(readme));
  });

  it('shows the two commands for a fresh machine', () => {
    expect(readme).toMatch(/npm install && npm run \w+/);
    expect(readme).toContain('npm test');
  });

  it('says on its first screen how to install it, and shows a runnable example there', () => {
    const firstScreen = readme.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('npm install wirestack');
    expect(firstScreen).toMatch(/<!-- example: [\w-]+ -->\s*```ts\n[\s\S]*?```/);
    expect(firstScreen.indexOf('npm install wirestack')).toBeLessThan(firstScreen.indexOf('<!-- example:'));
  });

  it('links only to files and headings that exist, in the README and in docs/', () => {
    const broken: string[] = [];
    for (const [page, markdown] of pages) {
      for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;   // https:, mailto:
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? page : relative(root, join(root, dirname(page), path));
        if (!existsSync(join(root, file))) broken.push(`${page}: ${target} (no file ${file})`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(join(root, file), 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  // Every block marked <!-- example: name -->, in the README or in docs/, runs unchanged against the built package.
  const examples = [...pages].flatMap(([page, markdown]) =>
    [...markdown.matchAll(/<!-- example: ([\w-]+) -->\s*```ts\n([\s\S]*?)```/g)].map(([, name, code]) => ({ page, name: name!, code: code! })));
  it('has runnable examples, each under a name of its own', () => {
    expect(examples.filter((example) => example.page === 'README.md').length).toBeGreaterThan(0);
    expect(new Set(examples.map((example) => example.name)).size).toBe(examples.length);
  });
  for (const { page, name, code } of examples) {
    it.concurrent(`example "${name}" (${page}) runs as written`, async () => {
      mkdirSync(scratch, { recursive: true });
      const file = join(scratch, `${name}.mts`);
      writeFileSync(file, code);
      const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [file], { cwd: root, timeout: 30_000 });
      expect(stdout.length).toBeGreaterThan(0);
    }, 40_000);
  }
});

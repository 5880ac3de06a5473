// Writes the README's table of error codes from lib/errors.ts, the single
// source of truth: `npm run docs:codes`. test/readme.test.ts checks it.
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../lib/errors.js';

const START = '<!-- error-codes:start -->';
const END = '<!-- error-codes:end -->';

/** The markdown table of every code and its meaning. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
  return ['| code | meaning |', '|---|---|', ...rows].join('\n');
}

/** `readme` with the table between the markers replaced by the current one. */
export function withErrorCodeTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${errorCodeTable()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withErrorCodeTable(readFileSync(path, 'utf8')));
}

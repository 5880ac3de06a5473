import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deflateFilter } from '../bench/deflate.js';
import { forgeFilters } from '../bench/forge.js';
import type { Row } from '../bench/harness.js';
import { formatSpread } from '../bench/table.js';
import { tlsFilters } from '../bench/wirestack-tls.js';

// Every row of the table, by the words its name starts with, in the order printed.
const EXPECTED_ROWS = [
  'harness ceiling',
  '1 identity layer',
  '5 identity layers (vs bare socket)',
  '5 identity layers (vs stream.compose chain)',
  '5 identity layers (vs duplexify chain)',
  'TLS bulk, 64 KiB writes, TLS on TCP, default options',
  'TLS bulk, 64 KiB writes, allowTruncation: true',
  'TLS bulk, 1 KiB writes',
  'TLS over one observing layer (vs native TLS over a plain JS Duplex)',
  'TLS over one observing layer (vs native TLS on the socket handle)',
  'handshakes/s, TLS 1.3 full',
  'handshakes/s, TLS 1.2 resumed',
  'heap per idle TLS connection',
  'RSS per idle TLS connection',
  '1,000 writes of 100 B in one cork() batch',
  'deflate layer pair',
  'forge engine through wirestack',
  'forge engine (vs node engine)',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wirestack-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs the benchmark with `args` at a tiny size; resolves with what it printed and the rows it wrote.
function bench(name: string, args: readonly string[]): Promise<{ stdout: string; rows: Row[] }> {
  const json = join(dir, `${name}.json`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--size', '256KiB', '--samples', '2',
      '--connections', '20', '--handshakes', '5', `--json=${json}`, ...args], { cwd: root, timeout: 100_000 },
    (err, stdout, stderr) => {
      if (err) return reject(new Error(`bench failed: ${stderr || err.message}`));
      resolve({ stdout, rows: (JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[] }).rows });
    });
  });
}

// The benchmark at CI size: it proves every row runs and yields a ratio with
// its spread; the ratios themselves depend on the machine and are never asserted.
describe('bench smoke (npm run bench at a tiny size)', () => {
  it('runs every row of the table and prints a numeric ratio and spread for each, in the table and in Markdown', async () => {
    const { stdout, rows } = await bench('all', ['--markdown']);
    expect(rows.map((r) => EXPECTED_ROWS.find((name) => r.row.startsWith(name)))).toEqual(EXPECTED_ROWS);
    // A row may be "not available" only because the filter it needs is really absent from this checkout.
    const t = tlsFilters();
    const present = { tls: t !== null, deflate: deflateFilter() !== null, forge: t !== null && typeof forgeFilters(t) !== 'string' };
    const markdownRows = stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| row '));
    expect(markdownRows).toHaveLength(rows.length);
    expect(stdout).toMatch(/load average \(1, 5, 15 min\) [\d.]+ [\d.]+ [\d.]+ at the start/);
    rows.forEach((row, i) => {
      if (row.missing) {
        expect(present[row.missing], `${row.row}: says ${row.missing} is missing`).toBe(false);
        return;
      }
      expect(Number.isFinite(row.ratio), `${row.row}: ${row.note ?? ''}`).toBe(true);
      // Two samples per variant: two paired ratios, the median between them.
      expect(row.ratios, row.row).toHaveLength(2);
      expect(row.spread!.min).toBeLessThanOrEqual(row.ratio!);
      expect(row.spread!.max).toBeGreaterThanOrEqual(row.ratio!);
      // The printed table and the Markdown carry the same ratio and spread.
      const printed = stdout.split('\n').find((line) => line.startsWith(`${i + 1} `) && line.includes(row.row));
      expect(printed, row.row).toMatch(new RegExp(` ${row.ratio!.toFixed(2)} +${formatSpread(row)} `));
      expect(markdownRows[i]).toContain(`| ${row.ratio!.toFixed(2)} | ${formatSpread(row)} |`);
    });
  }, 120_000);

  it('--no-internals runs the TLS rows with WIRESTACK_NODE_INTERNALS=0 and says so', async () => {
    const { stdout, rows } = await bench('public-api', ['--only', 'tls-64k', '--no-internals']);
    expect(stdout).toMatch(/public API only: every measuring process runs with WIRESTACK_NODE_INTERNALS=0|WIRESTACK_NODE_INTERNALS=0 is set, but this build never reads it/);
    expect(rows).toHaveLength(1);
    if (rows[0]!.missing) return;
    expect(Number.isFinite(rows[0]!.ratio)).toBe(true);
    expect(rows[0]!.note).toContain('public API only (WIRESTACK_NODE_INTERNALS=0)');
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deflateFilter } from '../bench/deflate.js';
import { forgeFilters } from '../bench/forge.js';
import type { Row } from '../bench/harness.js';
import { tlsFilters } from '../bench/wirestack-tls.js';

// Every row of the table, by the words its name starts with.
const EXPECTED_ROWS = [
  'TLS bulk, 64 KiB writes, TLS on TCP, default options',
  'TLS bulk, 64 KiB writes, allowTruncation: true',
  'TLS bulk, 1 KiB writes',
  'TLS over one observing layer (vs native TLS over a plain JS Duplex)',
  'TLS over one observing layer (vs native TLS on the socket handle)',
  '1 identity layer',
  '5 identity layers (vs bare socket)',
  '5 identity layers (vs stream.compose chain)',
  '5 identity layers (vs duplexify chain)',
  'handshakes/s, TLS 1.3 full',
  'handshakes/s, TLS 1.2 resumed',
  '1,000 writes of 100 B in one cork() batch',
  'heap per idle TLS connection',
  'deflate layer pair',
  'forge engine through wirestack',
  'forge engine (vs node engine)',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wirestack-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The benchmark at CI size: it proves every row runs and yields a ratio; the
// ratios themselves depend on the machine and are never asserted.
describe('bench smoke (npm run bench at a tiny size)', () => {
  it('runs every row of the table and prints a numeric ratio for each', async () => {
    const json = join(dir, 'results.json');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--size', '256KiB', '--samples', '1',
        '--connections', '20', '--handshakes', '5', `--json=${json}`], { cwd: root, timeout: 60_000 },
      (err, out, stderr) => (err ? reject(new Error(`bench failed: ${stderr || err.message}`)) : resolve(out)));
    });
    const { rows } = JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[] };
    expect(rows.map((r) => EXPECTED_ROWS.find((name) => r.row.startsWith(name)))).toEqual(EXPECTED_ROWS);
    // A row may be "not available" only because the filter it needs is really absent from this checkout.
    const t = tlsFilters();
    const present = { tls: t !== null, deflate: deflateFilter() !== null, forge: t !== null && typeof forgeFilters(t) !== 'string' };
    for (const row of rows) {
      if (row.missing) {
        expect(present[row.missing], `${row.row}: says ${row.missing} is missing`).toBe(false);
        continue;
      }
      expect(typeof row.ratio, `${row.row}: ${row.note ?? ''}`).toBe('number');
      expect(Number.isFinite(row.ratio), row.row).toBe(true);
      // The printed table carries the same ratio.
      expect(stdout).toContain(`${row.row}`);
      expect(stdout).toContain(row.ratio!.toFixed(2));
    }
  });
});

// The rows as the runner prints them: an aligned table for the terminal and
// the same table as Markdown, ready to paste into the README.
import { type Row, spreadOf } from './harness.js';

/** "0.91–0.99", or "–" for a row not measured. */
export function formatSpread(row: Row): string {
  return row.spread === null ? '–' : spreadOf([row.spread.min, row.spread.max]);
}

function cells(r: Row): string[] {
  return [r.row, r.baseline, r.wirestack, r.ratio === null ? 'n/a' : r.ratio.toFixed(2), formatSpread(r), r.target, r.met === null ? '–' : r.met ? 'yes' : 'NO'];
}

const HEADER = ['row', 'baseline', 'wirestack', 'ratio', 'spread', 'target', 'met?'];
// Columns printed right-aligned: the figures and the ratio.
const NUMERIC = new Set([1, 2, 3, 4]);

/** Prints the rows as one aligned table, notes underneath. */
export function printTable(rows: readonly Row[], out: (line: string) => void = console.log): void {
  const header = ['#', ...HEADER];
  const body = rows.map((r, i) => [String(i + 1), ...cells(r)]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (values: readonly string[]): string => values.map((v, c) => (NUMERIC.has(c - 1) ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
  out(line(header));
  out(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of body) out(line(row));
  const notes = rows.map((r, i) => (r.note ? `  [${i + 1}] ${r.note}` : null)).filter((n): n is string => n !== null);
  if (notes.length > 0) {
    out('');
    for (const note of notes) out(note);
  }
}

/** What the Markdown says about the run above its table. */
export interface RunDescription {
  readonly command: string;
  /** ISO time the run started. */
  readonly date: string;
  readonly minutes: number;
  readonly machine: string;
  readonly library: string;
  /** 'no', 'yes', or why the switch asked for had no effect. */
  readonly publicApiOnly: string;
  readonly loadAverageAtStart: string;
  readonly loadAverageAtEnd: string;
}

/**
 * The table as Markdown, with the run's description and the machine's load
 * above it and each row's note under it: paste it as it is.
 */
export function markdownTable(rows: readonly Row[], run: RunDescription): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [
    `\`${run.command}\` on ${run.date.slice(0, 16).replace('T', ' ')} UTC, ${run.minutes.toFixed(1)} min: ${run.machine}; ` +
      `load average (1, 5, 15 min) ${run.loadAverageAtStart} at the start, ${run.loadAverageAtEnd} at the end. Measuring ${run.library}${run.publicApiOnly === 'no' ? '' : `; WIRESTACK_NODE_INTERNALS=0: ${run.publicApiOnly}`}.`,
    '',
    `| ${HEADER.join(' | ')} |`,
    '|---|---:|---:|---:|---:|---|---|',
    ...rows.map((r) => `| ${cells(r).map((c) => esc(c === 'NO' ? 'no' : c)).join(' | ')} |`),
    '',
  ];
  for (const r of rows) if (r.note) lines.push(`- ${esc(r.row)}: ${r.note}`);
  return lines.join('\n');
}

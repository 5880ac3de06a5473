// The shared harness: options every group reads, interleaved sampling with
// medians, and the one table every group's rows end up in.

/** What the runner was asked for; every group reads the sizes from here. */
export interface BenchOptions {
  /** The smaller run (`--quick`). */
  readonly quick: boolean;
  /** Bytes each throughput sample moves (`--size`). */
  readonly size: number;
  /** Samples per variant; the row shows their median. */
  readonly samples: number;
  /** Idle TLS connections held for the heap row (`--connections`). */
  readonly connections: number;
  /** Handshakes per sample in the handshake rows (`--handshakes`). */
  readonly handshakes: number;
}

/** One row of the table. A row that could not run has `ratio: null` and says why in `note`. */
export interface Row {
  readonly group: string;
  /** What is measured, as the issue names it. */
  readonly row: string;
  /** The baseline's figure, formatted with its unit (e.g. "512.3 MB/s"). */
  readonly baseline: string;
  /** wirestack's figure, same unit. */
  readonly wirestack: string;
  /** wirestack ÷ baseline for "more is better" rows, baseline ÷ wirestack otherwise; null if not measured. */
  readonly ratio: number | null;
  /** The target as the issue states it. */
  readonly target: string;
  /** Whether the target is met; null when the row reports only, or was not measured. */
  readonly met: boolean | null;
  /** Anything a reader needs to read the figures right. */
  readonly note?: string;
  /** Set on a row not measured because a filter it needs is not in this checkout. */
  readonly missing?: Feature;
}

/** Filters built apart from the core; a row that needs an absent one says "not available". */
export type Feature = 'tls' | 'deflate' | 'forge';

/**
 * A variant of a measurement: one run of it returns a number (seconds,
 * bytes, …), or a {@link Timing} when it timed only part of its work.
 */
export type Sample = () => Promise<number | Timing>;

/** Wall and CPU seconds of the timed part of a sample (setup and teardown left out). */
export interface Timing {
  readonly seconds: number;
  readonly cpu: number;
}

/** Starts a clock for wall and CPU time; calling the result reads both. */
export function startTiming(): () => Timing {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpuStart);
    return { seconds: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
  };
}

/**
 * Runs every variant `samples` times, round-robin (A, B, C, A, B, C, …), so
 * that drift in the machine's load falls on all of them alike, and returns
 * each variant's median. One untimed warm-up run of each comes first.
 *
 * If `cpu` is given, it receives each variant's median CPU seconds (user +
 * system) of this process per sample: of the timed part when the sample
 * returns a {@link Timing}, else of the whole call. On a machine shared with
 * other work, CPU time shows cost more steadily than wall time does.
 */
export async function interleaved<K extends string>(variants: Record<K, Sample>, samples: number, warmup = true, cpu?: Partial<Record<K, number>>): Promise<Record<K, number>> {
  const names = Object.keys(variants) as K[];
  if (warmup) for (const name of names) await variants[name]();
  const results = Object.fromEntries(names.map((name) => [name, [] as number[]])) as unknown as Record<K, number[]>;
  const cpuResults = Object.fromEntries(names.map((name) => [name, [] as number[]])) as unknown as Record<K, number[]>;
  for (let i = 0; i < samples; i++) {
    // Alternate the order too, so no variant always runs right after the same one.
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const before = process.cpuUsage();
      const result = await variants[name]();
      const used = process.cpuUsage(before);
      if (typeof result === 'number') {
        results[name].push(result);
        cpuResults[name].push((used.user + used.system) / 1e6);
      } else {
        results[name].push(result.seconds);
        cpuResults[name].push(result.cpu);
      }
      await settle();
    }
  }
  if (cpu) for (const name of names) cpu[name] = median(cpuResults[name]);
  return Object.fromEntries(names.map((name) => [name, median(results[name])])) as unknown as Record<K, number>;
}

/** "; CPU time ratio 0.97" for a note: baseline CPU seconds ÷ wirestack CPU seconds, when both are known. */
export function cpuNote(baselineCpu: number | undefined, wirestackCpu: number | undefined): string {
  if (baselineCpu === undefined || wirestackCpu === undefined || wirestackCpu === 0) return '';
  return `; CPU-time ratio ${(baselineCpu / wirestackCpu).toFixed(2)} (CPU s baseline ${baselineCpu.toFixed(3)}, wirestack ${wirestackCpu.toFixed(3)})`;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// Lets sockets closed by the previous sample finish closing before the next one starts.
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

/** Seconds since `start` (a `performance.now()` reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** "512.3 MB/s" for `bytes` moved in `seconds`. */
export function rate(bytes: number, seconds: number): string {
  return `${(bytes / seconds / 1e6).toFixed(1)} MB/s`;
}

/** "64 MiB", "1 KiB", "300 B". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${Math.round(bytes)} B`;
}

/** Parses "64MiB", "1k", "1048576" into bytes. */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(i?b?)$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const scale = { '': 1, k: 1024, m: 1 << 20, g: 1 << 30 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * scale);
}

/** A row for something that could not be measured in this run, with the reason. */
export function unavailable(group: string, row: string, target: string, why: string, missing?: Feature): Row {
  return {
    group, row, baseline: 'not available', wirestack: 'not available', ratio: null, target, met: null, note: why,
    ...(missing === undefined ? {} : { missing }),
  };
}

/**
 * A throughput row: figures from the median seconds each side took to move
 * `bytes`, ratio = wirestack throughput ÷ baseline throughput.
 */
export function throughputRow(group: string, row: string, bytes: number, baselineSeconds: number, wirestackSeconds: number, target: number, note?: string): Row {
  const ratio = baselineSeconds / wirestackSeconds;
  return {
    group,
    row,
    baseline: rate(bytes, baselineSeconds),
    wirestack: rate(bytes, wirestackSeconds),
    ratio,
    target: `≥ ${target.toFixed(2)}`,
    met: ratio >= target,
    ...(note === undefined ? {} : { note }),
  };
}

/** Prints the rows as one aligned table, notes underneath. */
export function printTable(rows: readonly Row[], out: (line: string) => void = console.log): void {
  const header = ['#', 'row', 'baseline', 'wirestack', 'ratio', 'target', 'met?'];
  const cells = rows.map((r, i) => [
    String(i + 1),
    r.row,
    r.baseline,
    r.wirestack,
    r.ratio === null ? 'n/a' : r.ratio.toFixed(2),
    r.target,
    r.met === null ? '–' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (values: readonly string[]): string => values.map((v, c) => (c >= 2 && c <= 4 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
  out(line(header));
  out(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of cells) out(line(row));
  const notes = rows.map((r, i) => (r.note ? `  [${i + 1}] ${r.note}` : null)).filter((n): n is string => n !== null);
  if (notes.length > 0) {
    out('');
    for (const note of notes) out(note);
  }
}

/** The same table as Markdown, for the README. */
export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| row | baseline | wirestack | ratio | target | met? |', '|---|---:|---:|---:|---|---|'];
  for (const r of rows) {
    lines.push(`| ${esc(r.row)} | ${esc(r.baseline)} | ${esc(r.wirestack)} | ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)} | ${esc(r.target)} | ${r.met === null ? '–' : r.met ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

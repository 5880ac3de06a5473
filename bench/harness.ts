// The shared harness: options every group reads, interleaved sampling, and
// the rows built from paired samples (a median ratio and its spread).

/** What the runner was asked for; every group reads the sizes from here. */
export interface BenchOptions {
  /** The smaller run (`--quick`). */
  readonly quick: boolean;
  /** Bytes each throughput sample moves (`--size`). */
  readonly size: number;
  /** Samples per variant; the row shows the median of the paired ratios. */
  readonly samples: number;
  /** Idle TLS connections held for the memory rows (`--connections`). */
  readonly connections: number;
  /** Handshakes per sample in the handshake rows (`--handshakes`). */
  readonly handshakes: number;
  /** `--no-internals`: every measuring process runs with WIRESTACK_NODE_INTERNALS=0. */
  readonly publicApiOnly: boolean;
}

/**
 * Where the "no worse than today" targets come from: main's figures before
 * issue 14 (the pipeline rewrite), from the README's last run.
 */
export const TODAY = 'README run of 2026-11-26 on a quiet machine';

/** The lowest and highest ratio over a row's paired samples. */
export interface Spread {
  readonly min: number;
  readonly max: number;
}

/** One row of the table. A row that could not run has `ratio: null` and says why in `note`. */
export interface Row {
  readonly group: string;
  /** What is measured, as the issue names it. */
  readonly row: string;
  /** The baseline's figure (median of its samples), formatted with its unit (e.g. "512.3 MB/s"). */
  readonly baseline: string;
  /** wirestack's figure, same unit. */
  readonly wirestack: string;
  /** The median of {@link ratios}; null if not measured. */
  readonly ratio: number | null;
  /** The lowest and highest of {@link ratios}; null if not measured. */
  readonly spread: Spread | null;
  /**
   * One ratio per round of sampling, from the baseline's and wirestack's
   * samples of that round (taken one right after the other): wirestack ÷
   * baseline where more is better, and where less is better the way the
   * row's note says.
   */
  readonly ratios: readonly number[];
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

/** What a sample may report besides its figure: the TLS path taken, sessions resumed, … */
export type Facts = Readonly<Record<string, string | number>>;

/** One sample's figure in the row's unit (seconds, bytes), with the CPU seconds of its timed part when timed. */
export interface Reading {
  readonly value: number;
  readonly cpu?: number;
  readonly facts?: Facts;
}

/** A variant of a measurement: each call takes one sample. */
export type Sample = () => Promise<Reading>;

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

/** A {@link Timing} as a {@link Reading} of seconds. */
export function timed(timing: Timing, facts?: Facts): Reading {
  return { value: timing.seconds, cpu: timing.cpu, ...(facts === undefined ? {} : { facts }) };
}

/** One variant's samples, in the order they were taken. */
export interface Series {
  readonly values: number[];
  readonly cpu: number[];
  readonly facts: Facts[];
}

/**
 * Runs every variant `samples` times, round-robin (A, B, C, A, B, C, …), so
 * that drift in the machine's load falls on all of them alike, and returns
 * each variant's samples; sample i of every variant comes from round i, so
 * two variants' samples pair up. One untimed warm-up run of each comes first.
 */
export async function interleaved<K extends string>(variants: Record<K, Sample>, samples: number, warmup = true): Promise<Record<K, Series>> {
  const names = Object.keys(variants) as K[];
  if (warmup) for (const name of names) await variants[name]();
  const series = Object.fromEntries(names.map((name) => [name, { values: [], cpu: [], facts: [] }])) as unknown as Record<K, Series>;
  for (let i = 0; i < samples; i++) {
    // Alternate the order too, so no variant always runs right after the same one.
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const reading = await variants[name]();
      series[name].values.push(reading.value);
      series[name].cpu.push(reading.cpu ?? Number.NaN);
      series[name].facts.push(reading.facts ?? {});
    }
  }
  return series;
}

/**
 * Lets the previous sample's sockets finish closing and this sample's setup
 * settle before its clock starts. It forces no garbage collection: after a
 * forced full collection V8 starts again from a small young generation, and
 * a bare-socket transfer right after one took about 25 % more CPU time.
 */
export async function quiesce(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `ratio(b, c)` for each round's baseline sample b and candidate sample c. */
export function paired(baseline: Series, candidate: Series, ratio: (b: number, c: number) => number): number[] {
  return baseline.values.map((b, i) => ratio(b, candidate.values[i]!));
}

/** For rows of seconds (less time is better): baseline seconds ÷ candidate seconds, i.e. candidate speed ÷ baseline speed. */
export const speedup = (b: number, c: number): number => b / c;

/** For rows where less is better (bytes, time): candidate ÷ baseline. */
export const cost = (b: number, c: number): number => c / b;

/**
 * A row from paired ratios: `ratio` is their median, `spread` their range,
 * `met` what `meets` says of the median.
 */
export function pairedRow(fields: {
  group: string;
  row: string;
  baseline: string;
  wirestack: string;
  ratios: readonly number[];
  target: string;
  meets: ((ratio: number) => boolean) | null;
  note?: string;
}): Row {
  const { meets, ratios, note, ...rest } = fields;
  const ratio = median(ratios);
  return {
    ...rest,
    ratio,
    spread: { min: Math.min(...ratios), max: Math.max(...ratios) },
    ratios: [...ratios],
    met: meets === null ? null : meets(ratio),
    ...(note === undefined ? {} : { note }),
  };
}

/**
 * "CPU-time ratio 0.97 (…)": the median over rounds of baseline CPU seconds ÷
 * candidate CPU seconds; on a shared machine CPU time shows cost more
 * steadily than wall time. Empty when the samples carry no CPU time.
 */
export function cpuRatio(baseline: Series, candidate: Series): string {
  const ratios = baseline.cpu.map((b, i) => b / candidate.cpu[i]!).filter(Number.isFinite);
  if (ratios.length === 0) return '';
  return `CPU-time ratio ${median(ratios).toFixed(2)} (median CPU s per sample: baseline ${median(baseline.cpu).toFixed(3)}, wirestack ${median(candidate.cpu).toFixed(3)})`;
}

/** {@link cpuRatio} as the tail of a note ("; CPU-time ratio …"). */
export function cpuNote(baseline: Series, candidate: Series): string {
  const text = cpuRatio(baseline, candidate);
  return text ? `; ${text}` : '';
}

/** "0.91–0.99". */
export function spreadOf(ratios: readonly number[]): string {
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
}

/** "512.3 MB/s" for `bytes` moved in `seconds`. */
export function rate(bytes: number, seconds: number): string {
  return `${(bytes / seconds / 1e6).toFixed(1)} MB/s`;
}

/**
 * A throughput row: both series are seconds to move `bytes`; the figures are
 * each side's median, the ratio wirestack's speed ÷ the baseline's, per round.
 */
export function throughputRow(group: string, row: string, bytes: number, baseline: Series, candidate: Series, target: number, note: string): Row {
  return pairedRow({
    group,
    row,
    baseline: rate(bytes, median(baseline.values)),
    wirestack: rate(bytes, median(candidate.values)),
    ratios: paired(baseline, candidate, speedup),
    target: `≥ ${target.toFixed(2)}`,
    meets: (r) => r >= target,
    note: note + cpuNote(baseline, candidate),
  });
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
    group, row, baseline: 'not available', wirestack: 'not available', ratio: null, spread: null, ratios: [], target, met: null, note: why,
    ...(missing === undefined ? {} : { missing }),
  };
}

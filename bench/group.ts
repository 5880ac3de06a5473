import type { BenchOptions, Row } from './harness.js';

/**
 * A group of rows measured together (they share servers or a warm-up). Each
 * row has a short id for `--only`; `run` measures the ids in `selected` and
 * returns their rows, one or more per id.
 */
export interface Group {
  readonly name: string;
  readonly rows: readonly string[];
  run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]>;
}

/**
 * A progress line for long transfers: bytes each way and the rate, redrawn
 * in place on stderr. Only on a terminal and only once a transfer passes
 * 1 MiB, so short sessions and anything piped or captured stay clean.
 */

/** The part of a terminal stream the progress line uses. */
export interface ProgressTarget {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

/** Options for {@link Progress}. */
export interface ProgressOptions {
  /** Bytes (both ways together) before the line first shows (default 1 MiB). */
  threshold?: number;
  /** Least milliseconds between redraws (default 200). */
  intervalMs?: number;
  /** The clock, in milliseconds (default `performance.now`). */
  now?: () => number;
}

const MiB = 1024 * 1024;

/** Counts a transfer's bytes and shows them on a terminal; does nothing elsewhere. */
export class Progress {
  /** Bytes sent so far. */
  sent = 0;
  /** Bytes received so far. */
  received = 0;
  readonly #target: ProgressTarget;
  readonly #enabled: boolean;
  readonly #threshold: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  // When the line was last drawn; -Infinity before the first time.
  #drawnAt = -Infinity;
  // Whether a line is on the screen, to be cleared by done().
  #shown = false;

  constructor(target: ProgressTarget, options: ProgressOptions = {}) {
    this.#target = target;
    this.#enabled = target.isTTY === true;
    this.#threshold = options.threshold ?? MiB;
    this.#intervalMs = options.intervalMs ?? 200;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  /** Counts bytes sent. */
  addSent(bytes: number): void {
    this.sent += bytes;
    this.#maybeDraw();
  }

  /** Counts bytes received. */
  addReceived(bytes: number): void {
    this.received += bytes;
    this.#maybeDraw();
  }

  /** Clears the line, if one was drawn, so that what follows starts on a clean line. */
  done(): void {
    if (this.#shown) this.#target.write('\r\x1b[K');
    this.#shown = false;
  }

  /** The line's text: `↑ 1.5 MiB  ↓ 12.0 MiB  48.2 MiB/s`. */
  line(): string {
    const seconds = Math.max((this.#now() - this.#startedAt) / 1000, 1e-3);
    const rate = (this.sent + this.received) / seconds;
    return `↑ ${formatBytes(this.sent)}  ↓ ${formatBytes(this.received)}  ${formatBytes(rate)}/s`;
  }

  #maybeDraw(): void {
    if (!this.#enabled || this.sent + this.received <= this.#threshold) return;
    const now = this.#now();
    if (now - this.#drawnAt < this.#intervalMs) return;
    this.#drawnAt = now;
    this.#shown = true;
    this.#target.write(`\r\x1b[K${this.line()}`);
  }
}

/** Bytes in the largest unit that keeps the number ≥ 1: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// The progress line of bin/progress.ts: shown on a terminal past 1 MiB,
// redrawn at most every interval, cleared at the end; never elsewhere.
import { describe, expect, it } from 'vitest';
import { Progress, formatBytes } from '../bin/progress.js';

const MiB = 1024 * 1024;

function target(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text) > 0 };
}

describe('Progress', () => {
  it('on a terminal: silent up to 1 MiB, then bytes each way and the rate, redrawn in place', () => {
    let now = 0;
    const tty = target(true);
    const progress = new Progress(tty, { now: () => now, intervalMs: 200 });
    progress.addSent(MiB / 2);
    progress.addReceived(MiB / 2);
    expect(tty.writes).toEqual([]);
    now = 1000;
    progress.addReceived(MiB);
    expect(tty.writes).toEqual(['\r\x1b[K↑ 512.0 KiB  ↓ 1.5 MiB  2.0 MiB/s']);
    now = 1100;   // within the interval: counted, not drawn
    progress.addSent(1);
    expect(tty.writes).toHaveLength(1);
    now = 2000;
    progress.addSent(MiB - 1);
    expect(tty.writes.at(-1)).toBe('\r\x1b[K↑ 1.5 MiB  ↓ 1.5 MiB  1.5 MiB/s');
    progress.done();
    expect(tty.writes.at(-1)).toBe('\r\x1b[K');
    expect(progress.sent + progress.received).toBe(3 * MiB);
  });

  it('not a terminal (a pipe, a file): never writes, however much passes', () => {
    const pipe = target(false);
    const progress = new Progress(pipe, { intervalMs: 0 });
    for (let i = 0; i < 10; i++) progress.addReceived(MiB);
    progress.done();
    expect(pipe.writes).toEqual([]);
    expect(progress.received).toBe(10 * MiB);
  });

  it('done() writes nothing when no line was drawn', () => {
    const tty = target(true);
    const progress = new Progress(tty);
    progress.addSent(10);
    progress.done();
    expect(tty.writes).toEqual([]);
  });
});

describe('formatBytes', () => {
  it('picks the largest unit that keeps the number ≥ 1', () => {
    expect([0, 1023, 1024, 1536, MiB, 5.25 * MiB, 3 * 1024 * MiB].map(formatBytes))
      .toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '1.0 MiB', '5.3 MiB', '3.0 GiB']);
  });
});

// The TLS mutation fuzzer, both engines (those built in) and both roles:
//
//   npm run fuzz -- --cases 20000 --seed 1
//
// --cases is the total, spread evenly over the targets (engine × version ×
// role). Prints the cases and outcomes per target; exits non-zero if any
// case broke a rule (an uncoded error, a hang past 2 s, a crash, a leak).
import { parseArgs } from 'node:util';
import { fuzz, makeTargets } from './fuzz/tls-fuzzer.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '4' },
  },
});
const total = Number(values.cases);
const seed = Number(values.seed);
const targets = await makeTargets();
const perTarget = Math.ceil(total / targets.length);
const started = Date.now();
const reports = await fuzz(targets, perTarget, seed, { concurrency: Number(values.concurrency) });
let failures = 0;
let cases = 0;
console.log(`fuzz: ${targets.length} targets × ${perTarget} cases, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const [name, report] of reports) {
  cases += report.cases;
  failures += report.failures.length;
  const outcomes = [...report.outcomes].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ');
  console.log(`  ${name.padEnd(22)} ${String(report.cases).padStart(6)} cases  ${outcomes}`);
  for (const failure of report.failures.slice(0, 20)) console.log(`    FAIL ${failure}`);
}
console.log(`  total ${cases} cases, ${failures} failures`);
process.exit(failures > 0 ? 1 : 0);

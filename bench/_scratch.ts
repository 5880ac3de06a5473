import { bulkSample, nativeTlsEnds, nativeTlsOverJsEnds } from './tls-bulk.js';
import { interleaved } from './harness.js';
async function main() {
  const a = await nativeTlsEnds(); const b = await nativeTlsOverJsEnds();
  const n = 64 << 20;
  const m = await interleaved({ native: bulkSample(a.make, n, 65536), overJs: bulkSample(b.make, n, 65536), native1k: bulkSample(a.make, n/4, 1024) }, 3);
  console.log(n / m.native / 1e6, n / m.overJs / 1e6, n/4 / m.native1k / 1e6);
  await a.close(); await b.close();
}
main();

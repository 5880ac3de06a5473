import { connect, identity } from '../lib/index.js';
import { bulk, wirestackAcceptor } from './transfer.js';
async function main() {
  const layers = Number(process.argv[2] ?? 5);
  const f = () => Array.from({ length: layers }, () => identity());
  const acc = await wirestackAcceptor(f());
  for (let i = 0; i < 3; i++) {
    const [c, s] = await Promise.all([connect({ host: '127.0.0.1', port: acc.port }, f()), acc.next()]);
    const t = await bulk(c, s, 256 << 20, 65536);
    console.log((256 * 1.048576 / t).toFixed(0), 'MB/s');
    c.destroy(); s.destroy();
  }
  await acc.close();
}
main();

import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { duplexPair, identity, wrap, connect, listen } from '../lib/index.js';

describe('connection (first checks)', () => {
  it('round trip over memory', async () => {
    const [a, b] = duplexPair();
    const c = wrap(a, [identity(), identity()], { role: 'client' });
    const s = wrap(b, [identity()], { role: 'server' });
    await c.send('hello');
    expect((await s.receive())!.toString()).toBe('hello');
    await c.close();
    expect(await s.receive()).toBe(null);
    await s.send('back');
    expect((await c.receiveExactly(4)).toString()).toBe('back');
    await s.close();
    expect(await c.receive()).toBe(null);
    await new Promise((r) => setTimeout(r, 10));
    expect(c.closed && s.closed).toBe(true);
  });
  it('tcp bulk', async () => {
    const l = await listen({ host: '127.0.0.1', port: 0 }, [identity()], async (conn) => {
      for await (const chunk of conn) conn.write(chunk);
      conn.end();
    });
    const addr = l.address() as { port: number };
    const c = await connect({ host: '127.0.0.1', port: addr.port }, [identity(), identity()]);
    const data = randomBytes(8 << 20);
    const h = createHash('sha256');
    let got = 0;
    const done = (async () => { for await (const chunk of c) { h.update(chunk); got += chunk.length; } })();
    for (let i = 0; i < data.length; i += 65536) { if (!c.write(data.subarray(i, i + 65536))) await new Promise((r) => c.once('drain', r)); }
    await c.close();
    await done;
    expect(got).toBe(data.length);
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await l.close();
  });
});

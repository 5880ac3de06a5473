// A TCP echo server and a client, each with a small stack of layers; the
// client sends 1 MiB and checks that the same bytes come back.
// Run: npm run example
import { createHash, randomBytes } from 'node:crypto';
import { connect, fromTransforms, identity, listen } from 'wirestack';
import { Transform } from 'node:stream';

// A filter made of two transforms: flips every bit on the way down and back on the way up.
const flipBits = (): Transform => new Transform({
  transform(chunk: Buffer, _encoding, done) {
    const out = Buffer.allocUnsafe(chunk.length);
    for (let i = 0; i < chunk.length; i++) out[i] = chunk[i]! ^ 0xff;
    done(null, out);
  },
});
const flip = fromTransforms({ name: 'flip', outbound: flipBits, inbound: flipBits });

const listener = await listen({ host: '127.0.0.1', port: 0 }, [flip, identity('app')], async (conn) => {
  for await (const chunk of conn) await conn.send(chunk);
  await conn.close();
});
const { port } = listener.address() as { port: number };

const conn = await connect({ host: '127.0.0.1', port }, [flip, identity('app')]);
const payload = randomBytes(1 << 20);
const reply = conn.receiveExactly(payload.length);
await conn.send(payload);
await conn.close();
const echoed = await reply;

const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16);
console.log(`sent     ${payload.length} bytes, sha256 ${hash(payload)}`);
console.log(`received ${echoed.length} bytes, sha256 ${hash(echoed)}`);
for (const layer of conn.layers) console.log(`layer ${layer.name.padEnd(5)} in ${layer.bytesIn} B, out ${layer.bytesOut} B`);
await listener.close();
process.exitCode = payload.equals(echoed) ? 0 : 1;

/**
 * STARTTLS by example: a tiny line protocol whose client says STARTTLS and
 * both ends upgrade the live connection with conn.push(tls.…). Run it:
 *
 *   node --import tsx examples/starttls.ts
 */
import { connect, listen, tls, type Connection } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();

/**
 * Reads one "\r\n"-terminated line; null at the end of the stream. Bytes
 * after the line are given back to the connection (unshift), so a layer
 * pushed next (TLS) gets them first: a client may send its TLS hello right
 * behind the STARTTLS line, in the same segment.
 */
async function readLine(conn: Connection): Promise<string | null> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const end = buffered.indexOf('\r\n');
    if (end >= 0) {
      if (end + 2 < buffered.length) conn.unshift(buffered.subarray(end + 2));
      return buffered.subarray(0, end).toString();
    }
    const chunk = await conn.receive();
    if (chunk === null) return buffered.length > 0 ? buffered.toString() : null;
    buffered = Buffer.concat([buffered, chunk]);
  }
}

/** The server's side of the protocol: echo lines upper-cased, upgrade on STARTTLS. */
async function serve(conn: Connection): Promise<void> {
  await conn.send('220 ready\r\n');
  for (let line = await readLine(conn); line !== null && line !== 'QUIT'; line = await readLine(conn)) {
    if (line === 'STARTTLS') {
      await conn.send('220 go ahead\r\n');
      await conn.push(tls.server({ cert: certs.server.cert, key: certs.server.key }));
    } else {
      await conn.send(`250 ${line.toUpperCase()} (${conn.tls ? 'encrypted' : 'plaintext'})\r\n`);
    }
  }
  await conn.send('221 bye\r\n');
  await conn.close();
}

const listener = await listen({ host: '127.0.0.1', port: 0 }, [], serve);
const { port } = listener.address() as { port: number };

const conn = await connect({ host: '127.0.0.1', port });
console.log('S:', await readLine(conn));
await conn.send('hello\r\n');
console.log('S:', await readLine(conn));
await conn.send('STARTTLS\r\n');
console.log('S:', await readLine(conn));
await conn.push(tls.client({ ca: certs.ca.cert }));
const info = await conn.secured;
console.log(`-- ${info.protocol} ${info.cipher}, server certificate for ${info.peerCertificate?.subjectAltNames.join(' ')}`);
await conn.send('hello again\r\n');
console.log('S:', await readLine(conn));
await conn.send('QUIT\r\n');
console.log('S:', await readLine(conn));
console.log('end:', await readLine(conn), `(peer closed with ${conn.tls?.peerClose})`);
await conn.close();
await listener.close();

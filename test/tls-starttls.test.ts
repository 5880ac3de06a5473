// STARTTLS: upgrading a live plaintext connection with conn.push(tls.…).
import { describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import nodeTls from 'node:tls';
import { Duplex } from 'node:stream';
import { duplexPair, listen, tls, wrap, type Connection } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();

// Reads one "\r\n" line and gives the bytes after it back to the connection.
async function readLine(conn: Connection): Promise<string | null> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const end = buffered.indexOf('\r\n');
    if (end >= 0) {
      if (end + 2 < buffered.length) conn.unshift(buffered.subarray(end + 2));
      return buffered.subarray(0, end).toString();
    }
    const chunk = await conn.receive();
    if (chunk === null) return null;
    buffered = Buffer.concat([buffered, chunk]);
  }
}

// The server side of a line protocol: on STARTTLS, reply and upgrade.
async function serveOne(conn: Connection): Promise<string[]> {
  const seen: string[] = [];
  for (let line = await readLine(conn); line !== null; line = await readLine(conn)) {
    // Bytes already read past the line: the client's TLS hello, pipelined.
    seen.push(line === 'STARTTLS' && conn.readableLength > 0 ? 'STARTTLS+hello' : line);
    if (line === 'STARTTLS') {
      await conn.send('220 go ahead\r\n');
      await conn.push(tls.server(certs.server));
    } else {
      await conn.send(`250 ${line} ${conn.tls ? 'encrypted' : 'plain'}\r\n`);
    }
  }
  await conn.close();
  return seen;
}

describe('STARTTLS', () => {
  it('keeps a TLS hello that came in the same TCP segment as the STARTTLS line', async () => {
    let served!: Promise<string[]>;
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [], (conn) => { served = serveOne(conn); });
    const { port } = listener.address() as { port: number };
    const socket = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    // A pipelining client: its first write (the ClientHello) goes out in one
    // socket.write together with the STARTTLS line; the "220" reply is
    // taken off the incoming bytes before TLS sees them.
    let first = true;
    let reply = Buffer.alloc(0);
    let replyDone = false;
    const shim = new Duplex({
      read() {},
      write(chunk: Buffer, _e, cb) {
        socket.write(first ? Buffer.concat([Buffer.from('STARTTLS\r\n'), chunk]) : chunk, cb);
        first = false;
      },
      final(cb) { socket.end(cb); },
    });
    socket.on('data', (chunk: Buffer) => {
      if (replyDone) { shim.push(chunk); return; }
      reply = Buffer.concat([reply, chunk]);
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      replyDone = true;
      if (end + 2 < reply.length) shim.push(reply.subarray(end + 2));
    });
    socket.on('end', () => shim.push(null));
    const client = nodeTls.connect({ socket: shim, ca: certs.ca.cert, servername: 'localhost' });
    await new Promise((resolve, reject) => client.once('secureConnect', resolve).once('error', reject));
    expect(reply.subarray(0, reply.indexOf('\r\n')).toString()).toBe('220 go ahead');
    client.write('hello\r\n');
    const answer = await new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    expect(answer).toBe('250 hello encrypted\r\n');
    client.end();
    expect(await served).toEqual(['STARTTLS+hello', 'hello']);
    socket.destroy();
    await listener.close();
  });

  it('upgrades both ends of a wirestack connection mid-stream', async () => {
    const [a, b] = duplexPair();
    const c = wrap(a, [], { role: 'client', remote: { host: 'localhost' } });
    const s = wrap(b, [], { role: 'server' });
    const served = serveOne(s);
    await c.send('plain\r\n');
    expect(await readLine(c)).toBe('250 plain plain');
    await c.send('STARTTLS\r\n');
    expect(await readLine(c)).toBe('220 go ahead');
    await c.push(tls.client({ ca: certs.ca.cert }));
    expect((await c.secured).authorized).toBe(true);
    expect(c.layers.map((l) => l.name)).toEqual(['tls']);
    await c.send('secret\r\n');
    expect(await readLine(c)).toBe('250 secret encrypted');
    await c.close();
    expect(await readLine(c)).toBe(null);
    expect(c.tls!.peerClose).toBe('close_notify');
    expect(await served).toEqual(['plain', 'STARTTLS', 'secret']);
  });
});

// Session resumption across two server processes that share ticketKeys.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';

const certs = makeCertificates();
const fixture = fileURLToPath(new URL('./fixtures/tls-ticket-server.ts', import.meta.url));

async function startServer(ticketKeys: Buffer): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, TLS_CERT: certs.server.cert, TLS_KEY: certs.server.key, TLS_TICKET_KEYS: ticketKeys.toString('hex') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`server process exited (${code})`)));
  });
  return { port, stop: () => { child.stdin.end(); child.kill(); } };
}

// Connects, reads the server's verdict line, collects a session; returns both.
// (TLS 1.3 tickets come right after the handshake, before the server's first bytes.)
async function visit(port: number, session?: Buffer): Promise<{ verdict: string; resumed: boolean; session: Buffer | undefined }> {
  const conn = await connect({ host: 'localhost', port }, [tls.client({ ca: certs.ca.cert, ...(session ? { session } : {}) })]);
  const issued: Buffer[] = [];
  conn.on('session', (s: Buffer) => issued.push(s));
  const info = await conn.secured;
  let verdict = '';
  while (!verdict.endsWith('\n')) verdict += (await conn.receive())!.toString();
  await conn.send('x');
  await conn.receiveExactly(1);
  await conn.close();
  conn.destroy();
  return { verdict: verdict.trim(), resumed: info.resumed, session: issued[0] };
}

describe('resumption across server processes', () => {
  it('a session from one process resumes on another with the same ticketKeys', async () => {
    const keys = randomBytes(48);
    const [one, two] = await Promise.all([startServer(keys), startServer(keys)]);
    try {
      const first = await visit(one.port);
      expect(first).toMatchObject({ verdict: 'full', resumed: false });
      expect(first.session).toBeInstanceOf(Buffer);
      const second = await visit(two.port, first.session);
      expect(second).toMatchObject({ verdict: 'resumed', resumed: true });
      // Control: other ticket keys cannot decrypt the ticket, so no resumption.
      const stranger = await startServer(randomBytes(48));
      try {
        expect(await visit(stranger.port, first.session)).toMatchObject({ verdict: 'full', resumed: false });
      } finally {
        stranger.stop();
      }
    } finally {
      one.stop();
      two.stop();
    }
  });
});

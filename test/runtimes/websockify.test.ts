// webSocket() against the real websockify (Debian's package), the relay
// wirestack relay --websocket stands in for: its "binary" subprotocol, TLS
// inside end to end, and its clean close as the end of what it sends.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Listener, listen, tls, webSocket } from '../../lib/index.js';
import { makeCertificates } from '../../lib/testing/index.js';
import { drain, sha256, whenClosed } from '../helpers.js';

const certs = makeCertificates();
let service: Listener;
let websockify: ChildProcess;
let url: string;

// A port free now, for a program that cannot be told to pick one itself.
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  try {
    execFileSync('websockify', ['--help'], { stdio: 'ignore' });
  } catch {
    throw new Error('websockify is not installed (apt-get install -y websockify; .ci/run does)');
  }
  // A TLS echo service a forge client can talk to: reads to the peer's close_notify, echoing, then closes.
  service = await listen({ host: '127.0.0.1', port: 0 },
    [tls.server({ cert: certs.server.cert, key: certs.server.key, minVersion: 'TLSv1', ciphers: 'AES128-SHA:AES256-SHA:@SECLEVEL=0' })],
    async (conn) => {
      for await (const chunk of conn) await conn.send(chunk);
      await conn.close();
    });
  const target = (service.address() as { port: number }).port;
  const port = await freePort();
  websockify = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${target}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    websockify.stderr!.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('proxying from')) resolve();
    });
    websockify.once('exit', (code) => reject(new Error(`websockify exited (${code}):\n${said}`)));
  });
  url = `ws://127.0.0.1:${port}/`;
}, 30_000);

afterAll(async () => {
  websockify?.kill();
  await service?.close({ drain: false });
});

describe('webSocket() through websockify', () => {
  it('echoes 1 MiB with forge TLS inside, and ends cleanly when the service closes', async () => {
    const conn = await webSocket(url, [tls.client({ engine: 'forge', minVersion: 'TLSv1', ca: certs.ca.cert, servername: 'localhost' })]);
    expect((await conn.secured).authorized).toBe(true);
    const data = randomBytes(1024 * 1024);
    const reading = drain(conn);
    await conn.send(data);
    // close_notify reaches the service through websockify; our empty message it ignores.
    await conn.close();
    expect(await reading).toEqual({ bytes: data.length, sha256: sha256(data) });
    await whenClosed(conn);
    expect(conn.errored).toBeNull();
    expect(conn.tls?.peerClose).toBe('close_notify');
  });
});

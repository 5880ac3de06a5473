// `wirestack listen --websocket` and `wirestack relay --websocket`, run as
// users run them (the built binary), reached by webSocket() from this process.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, type Listener, deflate, listen, tls, webSocket } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { type Running, assertBuilt, run, start } from './cli.js';
import { drain, sha256, whenClosed } from './helpers.js';

const children: Running[] = [];
const listeners: Listener[] = [];
beforeAll(assertBuilt);
afterEach(async () => {
  for (const running of children.splice(0)) running.child.kill();
  await Promise.all(listeners.splice(0).map((l) => l.close({ drain: false })));
});

// Starts `wirestack args` and resolves with the ws:// URL it says it listens on.
async function startWebSocket(args: readonly string[]): Promise<{ running: Running; url: string }> {
  const running = start(args);
  children.push(running);
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const match = /listening on (ws:\/\/\S+)/.exec(running.stderr());
      if (match) resolve(match[1]!);
    };
    running.child.stderr.on('data', check);
    running.done.then((code) => reject(new Error(`exited (${code}) before listening:\n${running.stderr()}`)));
  });
  return { running, url };
}

// A TCP service on 127.0.0.1: `serve` is its handler; resolves with its port.
async function tcpService(filters: Parameters<typeof listen>[1], serve: (conn: Connection) => Promise<void>): Promise<number> {
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, serve);
  listeners.push(listener);
  return (listener.address() as { port: number }).port;
}

async function echoes(conn: Connection, size: number): Promise<void> {
  const data = randomBytes(size);
  const reading = drain(conn);
  await conn.send(data);
  await conn.close();
  expect(await reading).toEqual({ bytes: size, sha256: sha256(data) });
  await whenClosed(conn);
  expect(conn.errored).toBeNull();
}

const certs = makeCertificates();

describe('wirestack listen --websocket', () => {
  it('serves a deflate echo to webSocket(): 1 MiB back, SHA-256 checked', async () => {
    const { url } = await startWebSocket(['listen', '127.0.0.1:0', '--websocket', '--deflate', '--echo', '-q']);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    await echoes(await webSocket(url, [deflate()]), 1024 * 1024);
  });
});

describe('wirestack relay --websocket', () => {
  it('joins a WebSocket to a TCP service, TLS inside end to end (forge client, node-engine server): 1 MiB echoed', async () => {
    const port = await tcpService([tls.server({ cert: certs.server.cert, key: certs.server.key, minVersion: 'TLSv1', ciphers: 'AES128-SHA:AES256-SHA:@SECLEVEL=0' })],
      async (conn) => {
        for await (const chunk of conn) await conn.send(chunk);
        await conn.close();
      });
    const { url } = await startWebSocket(['relay', '--websocket', '127.0.0.1:0', '--to', `127.0.0.1:${port}`]);
    const conn = await webSocket(url, [tls.client({ engine: 'forge', minVersion: 'TLSv1', ca: certs.ca.cert, servername: 'localhost' })]);
    expect((await conn.secured).authorized).toBe(true);
    await echoes(conn, 1024 * 1024);
  });

  it('turns the WebSocket side\'s end into the TCP FIN, and the service\'s FIN into the end of what the WebSocket reads', async () => {
    const port = await tcpService([], async (conn) => {
      const got = drain(conn);
      // Answers only after the client's end has arrived through the relay.
      const { bytes } = await got;
      await conn.send(`you sent ${bytes} bytes`);
      await conn.close();
    });
    const { url } = await startWebSocket(['relay', '--websocket', '127.0.0.1:0', '--to', `127.0.0.1:${port}`, '-q']);
    const conn = await webSocket(url, []);
    await conn.send(randomBytes(100_000));
    await conn.close();
    const chunks: Buffer[] = [];
    for await (const chunk of conn) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('you sent 100000 bytes');
    await whenClosed(conn);
    expect(conn.errored).toBeNull();
  });

  it('closes the WebSocket abnormally, naming the failure, when the service refuses', async () => {
    const port = await tcpService([], async () => {});
    await listeners.pop()!.close();
    const { running, url } = await startWebSocket(['relay', '--websocket', '127.0.0.1:0', '--to', `127.0.0.1:${port}`]);
    const conn = await webSocket(url, []);
    const error = await new Promise<Error & { code?: string }>((resolve) => conn.once('error', resolve));
    expect(error.code).toBe('ERR_WIRESTACK_WEBSOCKET');
    expect(error.message).toContain('ERR_WIRESTACK_CONNECT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(running.stderr()).toMatch(/wirestack relay: .*ERR_WIRESTACK_CONNECT/);
  });

  it('refuses to run without --websocket or --to (status 2)', async () => {
    const missing = await run(['relay', '127.0.0.1:0', '--to', '127.0.0.1:1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--websocket');
    const noTarget = await run(['relay', '--websocket', '127.0.0.1:0']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('--to');
  });
});

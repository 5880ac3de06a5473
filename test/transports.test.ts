import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Connection, type Listener, WirestackError, connect, identity, listen } from '../lib/index.js';
import { sha256, whenClosed } from './helpers.js';

const socketDir = mkdtempSync(join(tmpdir(), 'wirestack-'));
afterAll(() => rmSync(socketDir, { recursive: true, force: true }));

// An echo server over `filters`: reads to the end, echoing, then closes its side.
async function echoServer(target: Parameters<typeof listen>[0], filters = [identity()]): Promise<Listener> {
  return listen(target, filters, async (conn) => {
    for await (const chunk of conn) await conn.send(chunk);
    await conn.close();
  });
}

async function roundTrip(conn: Connection, size: number): Promise<void> {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
  const reading = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of conn) chunks.push(c);
    return Buffer.concat(chunks);
  })();
  await conn.send(data);
  await conn.close();
  expect(sha256(await reading)).toBe(sha256(data));
}

describe('TCP', () => {
  it('connects to a listener on 127.0.0.1 and echoes through stacks on both ends', async () => {
    const listener = await echoServer({ host: '127.0.0.1', port: 0 });
    const { port, host } = listener.address() as { port: number; host: string };
    expect(host).toBe('127.0.0.1');
    const conn = await connect({ host: '127.0.0.1', port }, [identity(), identity()]);
    expect(conn.role).toBe('client');
    expect(conn.raw.fd).toBeGreaterThanOrEqual(0);
    expect(conn.remote).toEqual({ host: '127.0.0.1', port });
    await roundTrip(conn, 2 << 20);
    await whenClosed(conn);
    await listener.close();
  });

  it('works over IPv6 loopback', async () => {
    const listener = await echoServer({ host: '::1', port: 0 });
    const { port, family } = listener.address() as { port: number; family: string };
    expect(family).toBe('IPv6');
    const conn = await connect({ host: '::1', port }, identity());
    await roundTrip(conn, 100_000);
    await listener.close();
  });

  it('gives the server role to accepted connections', async () => {
    let role = '';
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [], (conn) => { role = conn.role; conn.end(); });
    const conn = await connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port });
    expect(await conn.receive()).toBeNull();
    expect(role).toBe('server');
    await conn.close();
    await listener.close();
  });

  it('rejects with ERR_WIRESTACK_CONNECT when nobody listens', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => probe.once('listening', r));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((r) => probe.close(r));
    const err = await connect({ host: '127.0.0.1', port }).catch((e: unknown) => e) as WirestackError;
    expect(err).toBeInstanceOf(WirestackError);
    expect(err.code).toBe('ERR_WIRESTACK_CONNECT');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect((err.cause as { code: string }).code).toBe('ECONNREFUSED');
  });

  it('rejects with ERR_WIRESTACK_CONNECT when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(connect({ host: '127.0.0.1', port: 9 }, [], { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_WIRESTACK_CONNECT' });
  });

  it('rejects with ERR_WIRESTACK_LISTEN when the port is taken', async () => {
    const first = await echoServer({ host: '127.0.0.1', port: 0 });
    const { port } = first.address() as { port: number };
    await expect(echoServer({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ERR_WIRESTACK_LISTEN' });
    await first.close();
  });

  it('close({ drain: false }) destroys open connections; close() waits for them', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [], () => undefined);
    const { port } = listener.address() as { port: number };
    const conn = await connect({ host: '127.0.0.1', port });
    await new Promise((r) => setTimeout(r, 20));
    expect(listener.connections.size).toBe(1);
    await listener.close({ drain: false });
    expect(await conn.receive()).toBeNull();
    expect(listener.connections.size).toBe(0);

    const draining = await listen({ host: '127.0.0.1', port: 0 }, [], async (c) => { await c.receive(); await c.close(); });
    const second = await connect({ host: '127.0.0.1', port: (draining.address() as { port: number }).port });
    let closed = false;
    const closing = draining.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    await second.close();
    expect(await second.receive()).toBeNull();
    await closing;
    expect(closed).toBe(true);
  });

  it('destroys the connection and reports connectionError when the handler fails', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0 }, [identity()], async () => {
      throw new Error('handler bug');
    });
    const reported = new Promise<[WirestackError, Connection | undefined]>((resolve) => listener.once('connectionError', (err, conn) => resolve([err, conn])));
    const conn = await connect({ host: '127.0.0.1', port: (listener.address() as { port: number }).port });
    const [err, serverConn] = await reported;
    expect(err.code).toBe('ERR_WIRESTACK_LAYER');
    expect(err.layer).toBe('handler');
    await whenClosed(serverConn!);
    expect(await conn.receive()).toBeNull();
    conn.destroy();
    await listener.close();
  });
});

describe('Unix domain sockets', () => {
  it('connects by path and echoes through a stack', async () => {
    const path = join(socketDir, 'echo.sock');
    const listener = await echoServer({ path }, [identity(), identity()]);
    expect(listener.address()).toEqual({ path });
    const conn = await connect({ path }, [identity()]);
    expect(conn.raw.fd).toBeGreaterThanOrEqual(0);
    expect(conn.remote).toEqual({ path });
    await roundTrip(conn, 1 << 20);
    await listener.close();
  });
});

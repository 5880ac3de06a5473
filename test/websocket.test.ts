import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Connection, type Filter, type Listener, type WebSocketLike, WebSocketStream, WirestackError, deflate, listen, tls, webSocket, wrap } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { drain, sha256, whenClosed } from './helpers.js';

const listeners: Listener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close({ drain: false })));
});

// A WebSocket echo server over `filters`: echoes to the end, then ends its side.
async function echoServer(filters: Filter[]): Promise<string> {
  const listener = await listen({ host: '127.0.0.1', port: 0, webSocket: true }, filters, async (conn) => {
    for await (const chunk of conn) await conn.send(chunk);
    await conn.close();
  });
  listeners.push(listener);
  const { port } = listener.address() as { port: number };
  return `ws://127.0.0.1:${port}/`;
}

// Sends `size` random bytes, half-closes, and checks what comes back by SHA-256.
async function echoes(conn: Connection, size: number): Promise<void> {
  const data = randomBytes(size);
  const reading = drain(conn);
  await conn.send(data);
  await conn.close();
  const received = await reading;
  expect(received.bytes).toBe(size);
  expect(received.sha256).toBe(sha256(data));
  await whenClosed(conn);
  expect(conn.errored).toBeNull();
}

const certs = makeCertificates();
const forgeOptions = { engine: 'forge', minVersion: 'TLSv1' } as const;

describe('webSocket() and listen({ webSocket: true })', () => {
  it('echoes 4 MiB through deflate over a WebSocket, SHA-256 checked, and both sides end cleanly', async () => {
    const url = await echoServer([deflate()]);
    const conn = await webSocket(url, [deflate()]);
    expect(conn.remote).toEqual({ host: '127.0.0.1', port: Number(new URL(url).port) });
    await echoes(conn, 4 * 1024 * 1024);
  });

  it('carries TLS inside the WebSocket: a forge client against a node-engine server', async () => {
    const url = await echoServer([tls.server({ cert: certs.server.cert, key: certs.server.key, minVersion: 'TLSv1', ciphers: 'AES128-SHA:AES256-SHA:@SECLEVEL=0' })]);
    const conn = await webSocket(url, [tls.client({ ...forgeOptions, ca: certs.ca.cert, servername: 'localhost' })]);
    const info = await conn.secured;
    expect(info.authorized).toBe(true);
    expect(info.protocol).toBe('TLSv1.1');
    await echoes(conn, 1024 * 1024);
  });

  it('carries TLS 1.3 inside the WebSocket between two node-engine ends', async () => {
    const url = await echoServer([tls.server({ cert: certs.server.cert, key: certs.server.key })]);
    const conn = await webSocket(url, [tls.client({ ca: certs.ca.cert, servername: 'localhost' })]);
    expect(await conn.secured).toMatchObject({ protocol: 'TLSv1.3', authorized: true });
    await echoes(conn, 4 * 1024 * 1024);
  });

  it('sends one 20 MiB write as messages the server takes (it refuses any over 16 MiB)', async () => {
    const url = await echoServer([]);
    await echoes(await webSocket(url, []), 20 * 1024 * 1024);
  });

  it('is a real half-close: after the client ends, the server still sends, and its end arrives', async () => {
    const served = new Promise<Buffer>((resolve, reject) => {
      void listen({ host: '127.0.0.1', port: 0, webSocket: true }, [], async (conn) => {
        const request = await conn.receive();
        expect(await conn.receive()).toBeNull();
        // The client's end has arrived; this side goes on sending.
        await new Promise((r) => setTimeout(r, 50));
        await conn.send(Buffer.concat([Buffer.from('after your end: '), request!]));
        await conn.close();
        resolve(request!);
      }).then((listener) => {
        listeners.push(listener);
        const { port } = listener.address() as { port: number };
        return webSocket(`ws://127.0.0.1:${port}/`, []);
      }).then(async (conn) => {
        await conn.send('ping');
        await conn.close();
        const chunks: Buffer[] = [];
        for await (const chunk of conn) chunks.push(chunk);
        expect(Buffer.concat(chunks).toString()).toBe('after your end: ping');
        await whenClosed(conn);
        expect(conn.errored).toBeNull();
      }).catch(reject);
    });
    expect((await served).toString()).toBe('ping');
  });

  it('reports a peer that destroys its end as ERR_WIRESTACK_WEBSOCKET with the close code', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, webSocket: true }, [], (conn) => {
      conn.destroy();
    });
    listeners.push(listener);
    const { port } = listener.address() as { port: number };
    const conn = await webSocket(`ws://127.0.0.1:${port}/`, []);
    const error = await new Promise<WirestackError>((resolve) => conn.once('error', resolve));
    expect(error.code).toBe('ERR_WIRESTACK_WEBSOCKET');
    expect(error.message).toContain('code 4000');
    await whenClosed(conn);
  });

  it('fails with ERR_WIRESTACK_CONNECT when nothing listens, and for a URL that is not ws:', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, webSocket: true }, [], () => {});
    const { port } = listener.address() as { port: number };
    await listener.close();
    await expect(webSocket(`ws://127.0.0.1:${port}/`, [])).rejects.toMatchObject({ code: 'ERR_WIRESTACK_CONNECT' });
    await expect(webSocket('http://127.0.0.1/', [])).rejects.toMatchObject({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT' });
  });

  it('fails a connection that gets a text message, and offers websockify\'s "binary" subprotocol', async () => {
    const failed = new Promise<WirestackError>((resolve) => {
      void listen({ host: '127.0.0.1', port: 0, webSocket: true }, [], (conn) => {
        conn.once('error', resolve);
      }).then((listener) => {
        listeners.push(listener);
        const { port } = listener.address() as { port: number };
        const peer = new WebSocket(`ws://127.0.0.1:${port}/`, ['binary']);
        peer.once('open', () => {
          expect(peer.protocol).toBe('binary');
          peer.send('text');
        });
      });
    });
    expect((await failed).code).toBe('ERR_WIRESTACK_WEBSOCKET');
  });

  it('bounds what waits unread on a WebSocket that cannot be paused (as a browser\'s): past maxUnreadBytes, ERR_WIRESTACK_WEBSOCKET', async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, webSocket: true }, [], async (conn) => {
      await conn.send(randomBytes(4 * 1024 * 1024)).catch(() => {});
    });
    listeners.push(listener);
    const { port } = listener.address() as { port: number };
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, ['binary']);
    await new Promise((resolve) => socket.once('open', resolve));
    // The browser's interface: what ws has, less pause() and resume().
    const browserLike: WebSocketLike = {
      get binaryType() { return socket.binaryType; },
      set binaryType(type: string) { socket.binaryType = type as 'arraybuffer'; },
      get readyState() { return socket.readyState; },
      get bufferedAmount() { return socket.bufferedAmount; },
      get protocol() { return socket.protocol; },
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
      addEventListener: (type, listener) => socket.addEventListener(type as 'message', listener as () => void),
      removeEventListener: (type, listener) => socket.removeEventListener(type as 'message', listener as () => void),
    };
    const conn = wrap(new WebSocketStream(browserLike, { maxUnreadBytes: 1024 * 1024 }), []);
    conn.pause();
    const error = await new Promise<WirestackError>((resolve) => conn.once('error', resolve));
    expect(error.code).toBe('ERR_WIRESTACK_WEBSOCKET');
    expect(error.message).toContain('unread');
    await whenClosed(conn);
  });
});

// The ws package, client and server, over stacks: its client through
// agent(), its server behind an http.Server fed by listen().
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Connection, type Filter, agent, deflate, listen, meter, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { expectNothingLeft, openResources, wirestackCode } from './connectors.js';
import { sha256 } from './helpers.js';

const certs = makeCertificates();

// An echo WebSocket server behind Node's http server, fed by listen() over `filters`.
async function echoServer(filters: Filter[]) {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const sockets: Connection[] = [];
  wss.on('connection', (ws, req) => {
    sockets.push(req.socket as unknown as Connection);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  const listener = await listen({ host: '127.0.0.1', port: 0 }, filters, (conn) => {
    server.emit('connection', conn);
  });
  listener.on('connectionError', () => {});
  const { port } = listener.address() as { port: number };
  return {
    port, sockets,
    close: async () => {
      wss.close();
      server.close();
      await listener.close({ drain: false });
    },
  };
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

describe('ws over stacks', () => {
  for (const secure of [false, true]) {
    it(`a 4 MiB message goes there and back intact (SHA-256)${secure ? ', over TLS on both ends' : ', over deflate on both ends'}`, async () => {
      const served = await echoServer(secure ? [tls.server({ cert: certs.server.cert, key: certs.server.key })] : [deflate(), meter()]);
      const through = agent(secure ? [tls.client({ ca: certs.ca.cert })] : [deflate(), meter()]);
      const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://localhost:${served.port}/echo`, { agent: through });
      await opened(ws);
      // ws called setTimeout(0) and setNoDelay() on both connections; they are still ours.
      const clientConn = (ws as unknown as { _socket: Connection })._socket;
      expect(clientConn.layers.map((l) => l.name)).toEqual(secure ? ['tls'] : ['deflate', 'meter']);
      expect(served.sockets[0]!.encrypted).toBe(secure);
      const message = randomBytes(4 * 1024 * 1024);
      const echoed = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
      ws.send(message);
      expect(sha256(await echoed)).toBe(sha256(message));
      expect(clientConn.bytesWritten).toBeGreaterThan(message.length);
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.close(1000);
      expect(await closed).toBe(1000);
      through.destroy();
      await served.close();
    });
  }

  it('a failed handshake reaches the WebSocket as its \'error\', with our code', async () => {
    const served = await echoServer([tls.server({ cert: certs.server.cert, key: certs.server.key })]);
    const before = openResources();
    const stranger = makeCertificates({ label: 'another PKI' });
    const through = agent([tls.client({ ca: stranger.ca.cert })]);
    const ws = new WebSocket(`wss://localhost:${served.port}/echo`, { agent: through });
    const err = await opened(ws).then(() => null, (e: unknown) => e);
    expect(wirestackCode(err)).toBe('ERR_WIRESTACK_TLS_UNKNOWN_CA');
    through.destroy();
    await expectNothingLeft(before);
    await served.close();
  });
});

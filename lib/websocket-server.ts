/**
 * The WebSocket side of `listen({ webSocket: true })`: the `ws` package's
 * server on an HTTP server, each accepted WebSocket handed on as a
 * {@link WebSocketStream}, the raw connection of a stack.
 */
import type http from 'node:http';
import { WirestackError } from './errors.js';
import type { RemoteInfo } from './filter.js';
import { WebSocketStream, type WebSocketLike, type WebSocketStreamOptions } from './websocket-stream.js';

/** `listen()`'s `webSocket` option in full. */
export interface WebSocketListenOptions extends WebSocketStreamOptions {
  /** Accept upgrades on this URL path only (default: any path). */
  path?: string;
}

// websockify's subprotocol for raw bytes; chosen when a client offers it.
const BINARY = 'binary';

/** Accepts WebSocket upgrades on `server`, calling `accept` with each one's stream. */
export async function acceptWebSockets(server: http.Server, options: WebSocketListenOptions,
  accept: (raw: WebSocketStream, remote: RemoteInfo) => void): Promise<void> {
  let ws: typeof import('ws');
  try {
    ws = await import('ws');
  } catch (err) {
    throw new WirestackError('ERR_WIRESTACK_PEER_MISSING', 'listen({ webSocket: true }) needs the ws package (npm install ws)', { cause: err });
  }
  const wss = new ws.WebSocketServer({
    server,
    ...(options.path === undefined ? {} : { path: options.path }),
    handleProtocols: (protocols) => (protocols.has(BINARY) ? BINARY : false),
    // A message is one write of the peer's; the stack bounds what it holds, this bounds one message.
    maxPayload: 16 * 1024 * 1024,
  });
  wss.on('connection', (socket, request) => {
    const remote = { host: request.socket.remoteAddress ?? '', port: request.socket.remotePort ?? 0 };
    accept(new WebSocketStream(socket as unknown as WebSocketLike, options), remote);
  });
  // The HTTP server's errors are the listener's; the WebSocket server only repeats them.
  wss.on('error', () => {});
  server.once('close', () => wss.close());
}

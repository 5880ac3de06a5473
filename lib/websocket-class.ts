/**
 * The WebSocket client class on Node, Deno and Bun: the `ws` package (an
 * optional peer) when it is installed, because its sockets can be paused,
 * so a slow reader holds the peer back; else the runtime's own `WebSocket`
 * (Node 22+, Deno, Bun). The browser build's twin takes the page's.
 */
import { WirestackError } from './errors.js';
import type { WebSocketLike } from './websocket-stream.js';

/** Makes a client WebSocket, as `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

let found: Promise<WebSocketConstructor> | undefined;

/** The class {@link webSocket} uses here. */
export function webSocketClass(): Promise<WebSocketConstructor> {
  found ??= import('ws').then(
    (ws) => ws.WebSocket as unknown as WebSocketConstructor,
    (err: unknown) => {
      const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (global) return global;
      found = undefined;
      throw new WirestackError('ERR_WIRESTACK_PEER_MISSING',
        'webSocket() needs the ws package on this runtime (npm install ws), or a runtime with a WebSocket class (Node 22+)', { cause: err });
    });
  return found;
}

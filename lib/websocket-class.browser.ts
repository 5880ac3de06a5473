// The browser twin of websocket-class.ts: the page's own WebSocket.
import { unsupportedRuntime } from './runtime.js';
import type { WebSocketLike } from './websocket-stream.js';

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The page's WebSocket class. */
export function webSocketClass(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return global ? Promise.resolve(global) : Promise.reject(unsupportedRuntime('webSocket()', 'a WebSocket class'));
}

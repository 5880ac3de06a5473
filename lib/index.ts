/**
 * wirestack: a network connection is a stack of filters over a raw byte
 * stream. This module is the public API; everything else is internal.
 * @module wirestack
 */
export { ERROR_CODES, WirestackError, isWirestackError } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export type { Filter, LayerContext, LayerInfo, RemoteInfo, Role } from './filter.js';
export { Layer, DEFAULT_HIGH_WATER_MARK } from './layer.js';
export type { LayerOptions } from './layer.js';
export { LayerStats } from './stats.js';
export { Stack, stack } from './stack.js';
export { Connection, wrap } from './connection.js';
export type { RawInfo, Sendable, WrapOptions } from './connection.js';
export { fromTransforms } from './from-transforms.js';
export type { TransformsSpec } from './from-transforms.js';
export { connect, describeTarget } from './connect.js';
export type { ConnectOptions, Target } from './connect.js';
export { Listener, listen } from './listener.js';
export { agent } from './agent.js';
export type { AgentOptions } from './agent.js';
export { dispatcher } from './dispatcher.js';
export type { DispatcherOptions } from './dispatcher.js';
export type { ConnectorStack, ConnectorTarget } from './connector.js';
export type { CloseOptions, ConnectionHandler, ListenOptions, ListenTarget, ListenerAddress, WebSocketListenOptions } from './listener.js';
export { webSocket } from './websocket.js';
export type { WebSocketOptions } from './websocket.js';
export { WebSocketStream } from './websocket-stream.js';
export type { WebSocketLike, WebSocketStreamOptions } from './websocket-stream.js';
export { MemoryEnd, duplexPair } from './duplex-pair.js';
export type { DuplexPairOptions } from './duplex-pair.js';
export { identity } from '../filters/identity.js';
export { tls, TlsLayer } from '../filters/tls/index.js';
export type {
  TlsClientOptions, TlsCommonOptions, TlsDefaults, TlsServerOptions, PeerCertificate, SecureInfo, TlsStatus,
  EngineConfig, EngineHost, EngineSession, HandshakeFacts, NativeTarget, NativeTls, Pem, SessionParams, SniCallback, TlsEngine, TlsIdentity, TlsVersion,
} from '../filters/tls/index.js';
export { throughput } from './stats.js';
export type { Throughput } from './stats.js';
export { log } from '../filters/log/index.js';
export type { LogFormat, LogLevel, LogOptions, LogSink, LogWritable } from '../filters/log/index.js';
export { deflate } from '../filters/deflate.js';
export type { DeflateOptions } from '../filters/deflate.js';
export { meter, MeterLayer } from '../filters/meter.js';
export type { MeterOptions, MeterReading } from '../filters/meter.js';

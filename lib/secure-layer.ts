import type { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import type { SecureInfo, TlsStatus } from '../filters/tls/info.js';
import type { Layer } from './layer.js';
import type { Duplex } from './stream.js';

/**
 * The capability a layer that secures the connection (TLS) offers, so that
 * the connection can find the topmost one without importing TLS code. The
 * layer also emits `'secure'` (with the {@link SecureInfo}) and `'session'`
 * (with a resumable session), which the connection re-emits.
 */
export const secureLayer: unique symbol = Symbol.for('wirestack.secureLayer');

/**
 * Marks a filter that makes a secure (TLS) layer, with its role, so that a
 * connector can tell an HTTPS stack from its filters alone.
 */
export const secureFilter: unique symbol = Symbol.for('wirestack.secureFilter');

/**
 * What a TLS client filter offers `connect()` under this symbol: open the
 * connection with TLS already on it, in one native socket (still
 * connecting), or `undefined` to have a plain socket opened instead.
 */
export const connectSecurely: unique symbol = Symbol.for('wirestack.connectSecurely');

/** Where {@link connectSecurely} connects. */
export type SecureConnectTarget = { readonly host: string; readonly port: number; readonly noDelay: boolean } | { readonly path: string };

/** The lowest filter of `filters`, if it can open its connection itself (see {@link connectSecurely}). */
export function secureConnector(filter: object | undefined): ((target: SecureConnectTarget) => Duplex | undefined) | undefined {
  const connector = (filter as Partial<Record<typeof connectSecurely, unknown>> | undefined)?.[connectSecurely];
  return typeof connector === 'function' ? connector as (target: SecureConnectTarget) => Duplex | undefined : undefined;
}

/** Whether `filter` makes a TLS client layer (the value of its {@link secureFilter} mark). */
export function isSecureClientFilter(filter: object): boolean {
  return (filter as Partial<Record<typeof secureFilter, unknown>>)[secureFilter] === 'client';
}

/** What a secure layer exposes under {@link secureLayer}. */
export interface SecureLayerCapability {
  /** Resolves when the handshake is done; rejects if it fails. Never an unhandled rejection. */
  readonly secured: Promise<SecureInfo>;
  /** The session's facts and how the peer closed, so far. */
  status(): TlsStatus;
  /** Emits the layer's `'secure'` and `'session'` events on `target` too (the connection). */
  relayEventsTo(target: EventEmitter): void;
  /** The session as `tls.TLSSocket` shows it, for the connection's socket surface. */
  readonly tlsSocket: TlsSocketFacts;
}

/**
 * The members of `tls.TLSSocket` a connection offers through its topmost TLS
 * layer, with TLSSocket's signatures and result shapes. `authorized` and
 * `authorizationError` are the filter's verdict (chain, dates and, on a
 * client, the host name), not OpenSSL's chain-only one.
 */
export interface TlsSocketFacts {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly servername: string | false | null | undefined;
  getPeerCertificate(detailed?: boolean): tls.PeerCertificate | tls.DetailedPeerCertificate | Record<string, never>;
  getCipher(): tls.CipherNameAndProtocol | Record<string, never>;
  getProtocol(): string | null;
  isSessionReused(): boolean;
  getSession(): Buffer | undefined;
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
}

/** A layer offering {@link SecureLayerCapability}. */
export type SecureLayer = (Duplex | Layer) & { readonly [secureLayer]: SecureLayerCapability };

/** Whether `stream` is a secure (TLS) layer. */
export function isSecureLayer(stream: Duplex | Layer): stream is SecureLayer {
  return typeof (stream as Partial<Record<typeof secureLayer, unknown>>)[secureLayer] === 'object';
}

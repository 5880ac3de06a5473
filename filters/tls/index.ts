/**
 * The TLS filter: `tls.client(opts)` and `tls.server(opts)`. The role is
 * fixed when the filter is made; one filter value serves many connections.
 */
import type { Filter } from '../../lib/filter.js';
import { type SecureConnectTarget, connectSecurely, secureFilter } from '../../lib/secure-layer.js';
import type { Duplex } from '../../lib/stream.js';
import { TlsLayer } from './layer.js';
import { resolveOptions, type TlsClientOptions, type TlsServerOptions } from './options.js';
import { defaults } from './profile.js';

/**
 * A TLS client filter: the layer it makes starts the handshake at once.
 * Verifies the server's chain and host name unless `rejectUnauthorized: false`.
 *
 * @example
 * ```ts
 * const conn = await connect({ host: 'example.com', port: 443 }, [tls.client({ alpn: ['http/1.1'] })]);
 * const info = await conn.secured;
 * ```
 */
function client(options: TlsClientOptions = {}): Filter {
  const resolved = resolveOptions('client', options);
  const filter: Filter & { [secureFilter]: 'client'; [connectSecurely]: (target: SecureConnectTarget) => Duplex | undefined } = {
    name: resolved.name,
    [secureFilter]: 'client',
    // connect() with this filter lowest: the connection and its TLS in one socket.
    [connectSecurely]: (target) => TlsLayer.connect(target, resolved),
    attach: (lower: Duplex, ctx) => TlsLayer.attach(lower, resolved, ctx),
  };
  return filter;
}

/**
 * A TLS server filter. Needs `cert` and `key` (or `pfx`, or an `sni`
 * callback); `requestCert: true` asks for and verifies client certificates.
 *
 * @example
 * ```ts
 * const listener = await listen({ port: 8443 }, [tls.server({ cert, key })], async (conn) => { … });
 * ```
 */
function server(options: TlsServerOptions): Filter {
  const resolved = resolveOptions('server', options);
  const filter: Filter & { [secureFilter]: 'server' } = { name: resolved.name, [secureFilter]: 'server', attach: (lower: Duplex, ctx) => TlsLayer.attach(lower, resolved, ctx) };
  return filter;
}

/**
 * The TLS filter's factories, and the defaults they use (Mozilla's
 * "intermediate" profile: TLS 1.2 and 1.3, ECDHE with AEAD ciphers only,
 * no renegotiation, the server's cipher order).
 * @namespace
 */
export const tls = {
  /** @function */
  client,
  /** @function */
  server,
  defaults,
} as const;

export { TlsLayer } from './layer.js';
export type { TlsClientOptions, TlsCommonOptions, TlsServerOptions } from './options.js';
export type { PeerCertificate, SecureInfo, TlsStatus } from './info.js';
export type { TlsDefaults } from './profile.js';
export type {
  EngineConfig, EngineHost, EngineSession, HandshakeFacts, NativeTarget, NativeTls, Pem, SessionParams, SniCallback, TlsEngine, TlsIdentity, TlsVersion,
} from './engine.js';

/**
 * The TLS filter's options: their types, validation and defaults. Every
 * mistake is one `ERR_WIRESTACK_INVALID_ARGUMENT` when the filter is made,
 * not a surprise during a handshake.
 */
import { WirestackError } from '../../lib/errors.js';
import { isIP } from '../../lib/ip.js';
import type { Writable } from '../../lib/stream.js';
import type { EngineConfig, Pem, SniCallback, TlsEngine, TlsIdentity, TlsVersion } from './engine.js';
import { forgeEngine } from './forge-lazy.js';
import { resolveKeylog, type KeylogWriter } from './keylog.js';
import { nodeEngine } from './node-engine.js';
import { defaults } from './profile.js';

/** Options both roles take. */
export interface TlsCommonOptions extends TlsIdentity {
  /** Trusted CA certificates (PEM). Default: the engine's built-in roots. */
  ca?: Pem | readonly Pem[];
  /** ALPN protocols, most preferred first (`['h2', 'http/1.1']`). */
  alpn?: readonly string[];
  /**
   * Reject a peer whose certificate is not verified (default `true`): its
   * chain must lead to `ca`, be within its validity, and on a client match
   * the host name. With `false` the failure is only reported in
   * `SecureInfo.authorized` / `authorizationError`.
   */
  rejectUnauthorized?: boolean;
  /** Lowest protocol version accepted (default `'TLSv1.2'`; lower only for peers that speak nothing newer). */
  minVersion?: TlsVersion;
  /** Highest protocol version offered (default: the engine's highest). */
  maxVersion?: TlsVersion;
  /**
   * OpenSSL cipher list (node engine), replacing the default
   * `tls.defaults.ciphers`: TLS 1.3's suites and, for TLS 1.2, ECDHE with
   * AES-GCM or ChaCha20-Poly1305 only. Name TLS 1.3 suites in it too, or
   * Node caps the connection at TLS 1.2. The forge engine takes `AES128-SHA`, `AES256-SHA`.
   */
  ciphers?: string;
  /** Milliseconds the handshake may take before `ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT` (default 10 000; 0: no limit). */
  handshakeTimeout?: number;
  /**
   * Accept a transport that ends without close_notify after the handshake
   * (default `false`: that is `ERR_WIRESTACK_TLS_TRUNCATED`). For protocols
   * that frame their own data; also enables the native fast path on sockets.
   */
  allowTruncation?: boolean;
  /**
   * Where to write the session keys in NSS key log format (a Writable, or a
   * file path appended to), for Wireshark. Lines that find the Writable
   * full are dropped, with one warning, rather than queued.
   */
  keylog?: Writable | string;
  /**
   * OpenSSL option flags (`crypto.constants.SSL_OP_*`), for the node engine
   * only, replacing the default `tls.defaults.secureOptions` (no
   * renegotiation, the server's cipher order). OR the defaults in to keep
   * them: `tls.defaults.secureOptions | constants.SSL_OP_LEGACY_SERVER_CONNECT`
   * reaches a server without secure renegotiation (a forge server).
   */
  secureOptions?: number;
  /** The engine: `'node'` (OpenSSL, default), `'forge'` (pure JavaScript), or an engine object. */
  engine?: 'node' | 'forge' | TlsEngine;
  /** The layer's name in `conn.layers` (default `'tls'`). */
  name?: string;
}

/** Options of `tls.client()`. */
export interface TlsClientOptions extends TlsCommonOptions {
  /**
   * The server name sent (SNI) and the name the certificate must match.
   * Default: the host connected to; an IP address is never sent as SNI (the
   * certificate is then checked against the IP). `false`: send no SNI (the
   * certificate is still checked against the host connected to). With no
   * host known (`wrap()` without `remote.host`) give a name, or the check fails.
   */
  servername?: string | false;
  /** A session from an earlier connection's `'session'` event, to resume it. */
  session?: Buffer;
  /** Called with each session the server issues (the same as the layer's `'session'` event). */
  onSession?: (session: Buffer) => void;
}

/** Options of `tls.server()`. */
export interface TlsServerOptions extends TlsCommonOptions {
  /** Ask clients for a certificate (mutual TLS); verified against `ca`. Default `false`. */
  requestCert?: boolean;
  /** Chooses the certificate per requested server name (SNI); `undefined` keeps `cert`/`key`. */
  sni?: SniCallback;
  /** 48 bytes of session ticket keys; servers sharing them resume each other's sessions. */
  ticketKeys?: Buffer;
}

/** The filter's options after validation: what the layer and the engine use. */
export interface ResolvedTlsOptions {
  readonly name: string;
  readonly engine: TlsEngine;
  /** The engine's config; one object for all connections of the filter. */
  readonly config: EngineConfig;
  /** Client: the name given, `false` for none, `undefined` for "the host connected to". */
  readonly servername: string | false | undefined;
  readonly handshakeTimeout: number;
  readonly allowTruncation: boolean;
  readonly keylog: KeylogWriter | undefined;
  readonly onSession: ((session: Buffer) => void) | undefined;
}

const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Engines by name. */
export const ENGINES: Record<string, TlsEngine | undefined> = { node: nodeEngine, forge: forgeEngine };

/** Validates the options of a client or server filter and fills in the defaults. */
export function resolveOptions(role: 'client' | 'server', input: TlsClientOptions & TlsServerOptions): ResolvedTlsOptions {
  if (typeof input !== 'object' || input === null) invalid('options must be an object');
  const known = new Set(role === 'client' ? CLIENT_KEYS : SERVER_KEYS);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) invalid(`unknown ${role} option "${key}"`);
  }
  const minVersion = input.minVersion ?? defaults.minVersion;
  if (!VERSIONS.includes(minVersion)) invalid(`minVersion must be one of ${VERSIONS.join(', ')}`);
  if (input.maxVersion !== undefined) {
    if (!VERSIONS.includes(input.maxVersion)) invalid(`maxVersion must be one of ${VERSIONS.join(', ')}`);
    if (VERSIONS.indexOf(input.maxVersion) < VERSIONS.indexOf(minVersion)) invalid('maxVersion is below minVersion');
  }
  const handshakeTimeout = input.handshakeTimeout ?? 10_000;
  if (!(Number.isFinite(handshakeTimeout) && handshakeTimeout >= 0)) invalid('handshakeTimeout must be a number of milliseconds ≥ 0');
  if (input.alpn !== undefined) {
    if (!Array.isArray(input.alpn) || input.alpn.some((p) => typeof p !== 'string' || p.length === 0 || p.length > 255)) {
      invalid('alpn must be a list of non-empty protocol names');
    }
  }
  if (input.servername !== undefined && input.servername !== false && typeof input.servername !== 'string') {
    invalid('servername must be a string or false');
  }
  if (input.session !== undefined && !Buffer.isBuffer(input.session)) invalid('session must be a Buffer from a "session" event');
  if (input.ticketKeys !== undefined && (!Buffer.isBuffer(input.ticketKeys) || input.ticketKeys.length !== 48)) {
    invalid('ticketKeys must be a Buffer of 48 bytes');
  }
  if (input.sni !== undefined && typeof input.sni !== 'function') invalid('sni must be a function');
  if (input.secureOptions !== undefined && !Number.isInteger(input.secureOptions)) invalid('secureOptions must be an integer');
  if (input.onSession !== undefined && typeof input.onSession !== 'function') invalid('onSession must be a function');
  if (role === 'server' && input.pfx === undefined && (input.cert === undefined || input.key === undefined) && input.sni === undefined) {
    invalid('a TLS server needs cert and key (or pfx, or an sni callback)');
  }
  const engine = resolveEngine(input.engine);
  const keylog = resolveKeylog(input.keylog);
  const config: EngineConfig = {
    role,
    ca: input.ca,
    cert: input.cert,
    key: input.key,
    pfx: input.pfx,
    passphrase: input.passphrase,
    alpn: input.alpn,
    minVersion,
    maxVersion: input.maxVersion,
    ciphers: input.ciphers,
    session: input.session,
    requestCert: input.requestCert ?? false,
    rejectUnauthorized: input.rejectUnauthorized ?? true,
    sni: input.sni,
    ticketKeys: input.ticketKeys,
    keylog: keylog !== undefined,
    secureOptions: input.secureOptions,
  };
  engine.check(config);
  return {
    name: input.name ?? 'tls',
    engine,
    config,
    servername: input.servername,
    handshakeTimeout,
    allowTruncation: input.allowTruncation ?? false,
    keylog,
    onSession: input.onSession,
  };
}

/**
 * The SNI name a client sends: the one given, else the host connected to
 * unless it is an IP address (RFC 6066 forbids IP literals in SNI).
 */
export function clientServername(given: string | false | undefined, remoteHost: string | undefined): string | undefined {
  if (given === false) return undefined;
  if (given !== undefined) return given;
  if (remoteHost === undefined || isIP(remoteHost) !== 0) return undefined;
  return remoteHost;
}

const COMMON_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'alpn', 'rejectUnauthorized', 'minVersion', 'maxVersion',
  'ciphers', 'handshakeTimeout', 'allowTruncation', 'keylog', 'engine', 'name', 'secureOptions'];
const CLIENT_KEYS = [...COMMON_KEYS, 'servername', 'session', 'onSession'];
const SERVER_KEYS = [...COMMON_KEYS, 'requestCert', 'sni', 'ticketKeys'];

function resolveEngine(engine: TlsCommonOptions['engine']): TlsEngine {
  if (engine === undefined) return nodeEngine;
  if (typeof engine === 'object' && engine !== null && typeof engine.open === 'function') return engine;
  if (typeof engine === 'string') {
    const found = ENGINES[engine];
    if (found) return found;
    throw new WirestackError('ERR_WIRESTACK_TLS_UNSUPPORTED', `tls: no engine named "${engine}" is available`, { layer: 'tls' });
  }
  return invalid('engine must be "node", "forge" or an engine object');
}

function invalid(message: string): never {
  throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `tls: ${message}`, { layer: 'tls' });
}

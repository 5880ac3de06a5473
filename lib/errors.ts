/**
 * Every error wirestack raises, in one place. Each has a stable `code`; the
 * README's table of codes is checked against {@link ERROR_CODES} by a test.
 */

/** What each code means; the single source of truth for the README table. */
export const ERROR_CODES = {
  ERR_WIRESTACK_EOF: 'the stream ended before the bytes asked for arrived (receiveExactly)',
  ERR_WIRESTACK_CLOSED: 'the connection, or the stream below a layer, was already closed',
  ERR_WIRESTACK_PREMATURE_CLOSE: 'the stream below closed before both directions had ended',
  ERR_WIRESTACK_TRANSPORT: 'the raw connection failed (reset, broken pipe, …); `cause` holds the system error',
  ERR_WIRESTACK_CONNECT: 'a connection could not be made (refused, unreachable, bad address, timed out)',
  ERR_WIRESTACK_LISTEN: 'a listener could not be opened (address in use, no permission)',
  ERR_WIRESTACK_LAYER: 'a layer failed with an error that had no code of its own; `cause` holds it',
  ERR_WIRESTACK_NOT_REMOVABLE: 'pop() was asked of a layer that cannot be removed from a live connection',
  ERR_WIRESTACK_BUSY: 'another receive(), push() or pop() on the same connection is still in progress',
  ERR_WIRESTACK_INVALID_ARGUMENT: 'an option or argument has the wrong type or value',
  ERR_WIRESTACK_PEER_MISSING: 'an optional peer dependency is not installed (undici, for dispatcher(); ws, for WebSockets on Node 20)',
  ERR_WIRESTACK_UNSUPPORTED_RUNTIME: 'this part of wirestack needs what this runtime lacks (TCP, the node TLS engine, brotli, files: in a browser); the message names the runtime and what to use instead',
  ERR_WIRESTACK_WEBSOCKET: 'a WebSocket under a stack failed: it closed abnormally (the close code is in the message), a text message arrived, or more arrived than may wait unread',
  ERR_WIRESTACK_TLS_HANDSHAKE: 'the TLS handshake failed (no common protocol or cipher, bad message, …)',
  ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT: 'the TLS handshake did not finish within handshakeTimeout',
  ERR_WIRESTACK_TLS_UNKNOWN_CA: "the peer's certificate does not chain to a trusted CA",
  ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH: "the peer's certificate is not valid for the host name",
  ERR_WIRESTACK_TLS_CERT_EXPIRED: "the peer's certificate has expired",
  ERR_WIRESTACK_TLS_CERT_NOT_YET_VALID: "the peer's certificate is not valid yet",
  ERR_WIRESTACK_TLS_CERT_INVALID: "the peer's certificate was rejected for another reason: a rule of path validation broken (name constraints, path length, key usage or extended key usage, an unknown critical extension, an MD5 or SHA-1 signature), a bad signature, or none sent",
  ERR_WIRESTACK_TLS_ALERT: 'the peer sent a fatal TLS alert; `alert` names it',
  ERR_WIRESTACK_TLS_TRUNCATED: 'the transport ended without a TLS close_notify (possible truncation attack)',
  ERR_WIRESTACK_TLS_UNSUPPORTED: 'the TLS engine cannot do what was asked (an option, or pop()), or conn.secured was read on a connection without TLS',
  ERR_WIRESTACK_TLS: 'another TLS failure after the handshake (bad record, decryption failure, …)',
  ERR_WIRESTACK_INFLATE: 'compressed input was corrupt',
  ERR_WIRESTACK_INFLATE_LIMIT: 'compressed input inflated past maxInflatedBytes or the maximum ratio',
  ERR_WIRESTACK_FAULT: 'a fault-injecting test filter, or a fault of the testing proxy, broke the stream on purpose',
  ERR_WIRESTACK_STDIO: 'the wirestack command could not read its input or write its output (standard input/output, or the pipes of an --exec command); `cause` holds the system error',
  ERR_WIRESTACK_EXEC: 'the --exec command of wirestack connect or listen could not be started, or was killed by a signal',
  ERR_WIRESTACK_IDLE_TIMEOUT: 'the wirestack command closed a connection on which nothing moved either way for --idle-timeout',
} as const;

/** A stable error code, `ERR_WIRESTACK_…`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra facts an error may carry. */
export interface ErrorDetails {
  /** The name of the layer where the failure began (`'tls'`, `'deflate'`, `'raw'`). */
  layer?: string;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
  /** For `ERR_WIRESTACK_TLS_ALERT`: the alert's name, e.g. `'handshake_failure'`. */
  alert?: string;
  /** For `ERR_WIRESTACK_EOF`: the bytes that did arrive, so none are lost. */
  partial?: Buffer;
}

/** The one error class wirestack raises; `code` tells failures apart. */
export class WirestackError extends Error {
  /** Always `'WirestackError'`, whatever the code. */
  override name = 'WirestackError';
  /** What failed, stable across versions: see {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** The layer where the failure began, if known. */
  layer: string | undefined;
  /** For TLS alerts, the alert's name. */
  readonly alert: string | undefined;
  /** For `ERR_WIRESTACK_EOF`, the bytes that arrived before the end. */
  readonly partial: Buffer | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.layer = details.layer;
    this.alert = details.alert;
    this.partial = details.partial;
  }
}

/** True when `err` is an error wirestack raised (any `ERR_WIRESTACK_…` code). */
export function isWirestackError(err: unknown): err is WirestackError {
  if (err instanceof WirestackError) return true;
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code in ERROR_CODES;
}

/** Whether a system error code means the raw connection itself broke (reset, broken pipe, …). */
export function isTransportCode(code: unknown): boolean {
  return typeof code === 'string' && TRANSPORT_CODES.has(code);
}

// System error codes that mean the raw connection itself broke.
const TRANSPORT_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN',
]);

/**
 * Gives any error a wirestack code and a layer name, once: an error that
 * already has one passes through unchanged, so it reaches the application
 * as the same object however many layers it crosses.
 */
export function toWirestackError(err: unknown, layer: string): WirestackError {
  if (isWirestackError(err)) {
    if (err.layer === undefined) err.layer = layer;
    return err;
  }
  const sysCode = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // A socket wrapped before it connected reports its failure to connect here.
  const syscall = (err as { syscall?: unknown } | null)?.syscall;
  if (syscall === 'connect' || syscall === 'getaddrinfo') {
    return new WirestackError('ERR_WIRESTACK_CONNECT', `${layer}: ${message}`, { layer, cause: err });
  }
  if (isTransportCode(sysCode)) {
    return new WirestackError('ERR_WIRESTACK_TRANSPORT', `${layer}: ${message}`, { layer, cause: err });
  }
  if (sysCode === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new WirestackError('ERR_WIRESTACK_PREMATURE_CLOSE', `${layer}: ${message}`, { layer, cause: err });
  }
  if (sysCode === 'ERR_STREAM_DESTROYED' || sysCode === 'ERR_STREAM_WRITE_AFTER_END') {
    return new WirestackError('ERR_WIRESTACK_CLOSED', `${layer}: ${message}`, { layer, cause: err });
  }
  return new WirestackError('ERR_WIRESTACK_LAYER', `${layer}: ${message}`, { layer, cause: err });
}

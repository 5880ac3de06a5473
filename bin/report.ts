/**
 * How the command reports a failure: one line on stderr with the error's
 * code, what failed, and what to try; and the exit status.
 */
import { WirestackError, isWirestackError, type ErrorCode } from '../lib/index.js';

/** Exit status for a usage mistake (bad flag or argument), as most Unix tools use. */
export const EXIT_USAGE = 2;
/** Exit status for anything else that failed (connection, TLS, transfer). */
export const EXIT_FAILURE = 1;

/** The exit statuses every command shares, for `--help`. */
export const EXIT_STATUS_HELP = `  0  both sides ended cleanly: every byte of input sent, every byte received
     written (or the reader of standard output went away, as with | head)
  1  a failure, one line on stderr with its code and what to try; a transfer
     cut short is one (a reset, a TLS end without close_notify, input left
     unsent, output that could not be written)
  2  a bad flag or argument`;

// What to try, for the failures a user of the command meets.
const HINTS: Partial<Record<ErrorCode, string>> = {
  ERR_WIRESTACK_CONNECT: 'check the host and port, and that a server is listening there',
  ERR_WIRESTACK_LISTEN: 'pick another port (0 lets the system choose one)',
  ERR_WIRESTACK_TRANSPORT: 'the peer reset the connection; run with --log to see what came before',
  ERR_WIRESTACK_PREMATURE_CLOSE: 'the peer went away mid-stream; run with --log to see what came before',
  ERR_WIRESTACK_TLS_HANDSHAKE: 'check that the peer speaks TLS on this port, and a version and cipher we accept (--tls-min, --ciphers)',
  ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT: 'check that the peer speaks TLS on this port',
  ERR_WIRESTACK_TLS_UNKNOWN_CA: 'pass the CA that signed the certificate with --ca FILE (or --insecure, for testing only)',
  ERR_WIRESTACK_TLS_HOSTNAME_MISMATCH: 'connect by a name on the certificate, or pass it with --servername NAME',
  ERR_WIRESTACK_TLS_CERT_EXPIRED: 'renew the certificate, or check the clock',
  ERR_WIRESTACK_TLS_CERT_NOT_YET_VALID: 'check the clock, or wait until the certificate is valid',
  ERR_WIRESTACK_TLS_CERT_INVALID: 'check the certificate chain (--ca FILE), or --insecure for testing only',
  ERR_WIRESTACK_TLS_ALERT: 'the peer refused the session; run with --log below --tls to see the handshake',
  ERR_WIRESTACK_TLS_TRUNCATED: 'the peer closed without a TLS close_notify: the data may be cut short',
  ERR_WIRESTACK_TLS_UNSUPPORTED: 'this TLS engine cannot do that: try --tls-engine node, or another --tls-min',
  ERR_WIRESTACK_TLS: 'run with --log below --tls to see the records',
  ERR_WIRESTACK_INFLATE: 'the bytes were not what --deflate makes: both ends need --deflate, at the same place in the stack',
  ERR_WIRESTACK_INFLATE_LIMIT: 'the peer sent a decompression bomb, or is not using --deflate',
  ERR_WIRESTACK_STDIO: 'check where standard input and output lead (a full disk, a file that cannot be read)',
  ERR_WIRESTACK_EXEC: 'run the command by hand (with sh -c) to see why it stopped',
  ERR_WIRESTACK_FAULT: 'a fault set on purpose did this (a test filter, or a fault of wirestack proxy)',
  ERR_WIRESTACK_IDLE_TIMEOUT: 'nothing moved either way for --idle-timeout; raise it, or check why the peer went quiet',
};

// A listener that could not be opened, by the system's reason.
const LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'pick another port (0 lets the system choose one)',
  EACCES: 'ports below 1024 need privileges: pick another (0 lets the system choose one)',
  ENOTFOUND: 'the host name does not resolve: give an address of this machine, or only the port to listen on every interface',
  EAI_AGAIN: 'the host name could not be resolved now: give an address of this machine, or only the port',
  EADDRNOTAVAIL: 'that address is not one of this machine\'s: give one of its addresses, or only the port',
};

// The same, for a Unix socket path.
const UNIX_LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'a socket file is already there: another server uses it, or one was left behind (remove it if no server uses it)',
  EACCES: 'the socket file cannot be made there: check that its directory exists and that you may write in it',
  ENOENT: 'the socket file cannot be made there: check that its directory exists and that you may write in it',
};

// What to try for `error`, where the code alone would point the wrong way.
function hintFor(command: string, error: WirestackError): string {
  if (error.code === 'ERR_WIRESTACK_INVALID_ARGUMENT') return `see wirestack ${command ? `${command} ` : ''}--help`;
  if (error.alert !== undefined && ALERT_HINTS[error.alert]) return ALERT_HINTS[error.alert]!;
  const cause = (error.cause as { code?: unknown } | undefined)?.code;
  if (error.code === 'ERR_WIRESTACK_LISTEN' && typeof cause === 'string') {
    const hints = /cannot listen on [^:]*\//.test(error.message) ? UNIX_LISTEN_HINTS : LISTEN_HINTS;
    if (hints[cause]) return hints[cause]!;
  }
  if (error.code === 'ERR_WIRESTACK_CONNECT' && /cannot connect to [^:]*\//.test(error.message)) {
    return 'check the socket path, and that a server listens on it';
  }
  // zlib's "unexpected end of file": the stream was cut off, not garbled.
  if (error.code === 'ERR_WIRESTACK_INFLATE' && cause === 'Z_BUF_ERROR') {
    return 'the compressed stream was cut off before its end (the peer went away mid-transfer); run with --log below --deflate to see how it ended';
  }
  if (command === 'listen' && error.message.includes("refused the client's certificate")) {
    return 'the client needs a certificate signed by a CA in --ca FILE';
  }
  if (error.code === 'ERR_WIRESTACK_TLS_HANDSHAKE' && /peer did not return a certificate/.test(error.message)) {
    return 'the client sent no certificate, and --require-client-cert wants one (the client needs --cert FILE --key FILE)';
  }
  if (error.code === 'ERR_WIRESTACK_TLS_HANDSHAKE' && command === 'listen' && /peer closed/.test(error.message)) {
    return 'a client that does not trust our certificate may close without a word (give it the CA, or --insecure to test); or it does not speak TLS';
  }
  return HINTS[error.code] ?? 'run with --log to see what was exchanged';
}

// For a fatal alert from the peer, what its name suggests.
const ALERT_HINTS: Record<string, string> = {
  protocol_version: 'no TLS version in common: see --tls-min (and --tls-engine)',
  handshake_failure: 'no cipher or version in common: see --ciphers and --tls-min',
  insufficient_security: 'no cipher or version in common: see --ciphers and --tls-min',
  no_application_protocol: 'the peer speaks none of the --alpn protocols offered',
  certificate_required: 'the peer wants a client certificate: --cert FILE --key FILE',
  bad_certificate: 'the peer refused our certificate (--cert FILE --key FILE)',
  unknown_ca: 'the peer does not trust the CA of our certificate',
  unrecognized_name: 'the peer has no certificate for that name: see --servername',
};

/**
 * The one line that says what failed and what to try:
 * `wirestack connect: ERR_…: message (try: …)`; `where` names the peer, for a server.
 */
export function failureLine(command: string, err: unknown, where?: string): string {
  const error = coded(err);
  // One line, whatever the message holds.
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return `wirestack${command ? ` ${command}` : ''}: ${where === undefined ? '' : `${where}: `}${error.code}: ${message} (try: ${hintFor(command, error)})`;
}

/** The exit status for `err`. */
export function exitStatus(err: unknown): number {
  return coded(err).code === 'ERR_WIRESTACK_INVALID_ARGUMENT' ? EXIT_USAGE : EXIT_FAILURE;
}

/** `err` with a wirestack code: as it is when it has one, else `ERR_WIRESTACK_LAYER` around it. */
export function coded(err: unknown): WirestackError {
  if (isWirestackError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WirestackError('ERR_WIRESTACK_LAYER', message, { layer: 'cli', cause: err });
}

/**
 * How the command reports a failure: one line on stderr with the error's
 * code, what failed, and what to try; and the exit status.
 */
import { toWirestackError, type ErrorCode } from '../lib/errors.js';

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
  ERR_WIRESTACK_INFLATE: 'both ends need --deflate, at the same place in the stack',
  ERR_WIRESTACK_INFLATE_LIMIT: 'the peer sent a decompression bomb, or is not using --deflate',
  ERR_WIRESTACK_STDIO: 'check where standard input and output lead (a full disk, a file that cannot be read)',
  ERR_WIRESTACK_EXEC: 'run the command by hand (with sh -c) to see why it stopped',
};

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
  const error = toWirestackError(err, 'cli');
  const hint = (error.alert === undefined ? undefined : ALERT_HINTS[error.alert]) ?? HINTS[error.code] ?? 'run with --log to see what was exchanged';
  const shownHint = error.code === 'ERR_WIRESTACK_INVALID_ARGUMENT' ? `see wirestack ${command ? `${command} ` : ''}--help` : hint;
  // One line, whatever the message holds.
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return `wirestack${command ? ` ${command}` : ''}: ${where === undefined ? '' : `${where}: `}${error.code}: ${message} (try: ${shownHint})`;
}

/** The exit status for `err`. */
export function exitStatus(err: unknown): number {
  return toWirestackError(err, 'cli').code === 'ERR_WIRESTACK_INVALID_ARGUMENT' ? EXIT_USAGE : EXIT_FAILURE;
}

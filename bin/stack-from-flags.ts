/**
 * Turns the filter flags of a command line into a stack: `--log`, `--tls`
 * and `--deflate` become filters in the order given, lowest first, and the
 * TLS flags (`--ca`, `--cert`, …) become the TLS filter's options wherever
 * they appear.
 */
import { X509Certificate, constants, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  deflate, log, tls,
  type Filter, type LogFormat, type RemoteInfo, type TlsClientOptions, type TlsServerOptions, type TlsVersion,
} from '../lib/index.js';
import { has, oneOf, usage, valueOf, type FlagSpec, type ParsedArgs } from './args.js';

/** The flags that add a layer; their order on the command line is the stack's. */
export const LAYER_FLAGS: readonly FlagSpec[] = [
  { name: 'log', value: 'optional', placeholder: 'summary|hex|text', choices: ['summary', 'hex', 'text'],
    help: 'add a layer that logs what crosses it on stderr (TLS records are named)' },
  { name: 'tls', value: 'none', help: 'add a TLS layer' },
  { name: 'deflate', value: 'none', help: 'add a compression layer (the peer needs one too)' },
];

const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// Protocol tuning both roles take.
const TUNING_FLAGS: readonly FlagSpec[] = [
  { name: 'tls-engine', value: 'required', placeholder: 'node|forge', choices: ['node', 'forge'],
    help: 'TLS implementation: node (OpenSSL, default) or forge (JavaScript; TLS 1.0/1.1 only, implies --tls-min TLSv1)' },
  { name: 'tls-min', value: 'required', placeholder: 'VERSION', choices: VERSIONS,
    help: 'lowest TLS version accepted (default TLSv1.2)' },
  { name: 'tls-max', value: 'required', placeholder: 'VERSION', choices: VERSIONS,
    help: 'highest TLS version offered (default: the highest the engine speaks)' },
  { name: 'ciphers', value: 'required', placeholder: 'LIST',
    help: 'OpenSSL cipher list, replacing the default (TLS 1.3, and ECDHE with AES-GCM or ChaCha20 in TLS 1.2)' },
  { name: 'keylog', value: 'required', placeholder: 'FILE', help: 'append the session keys to FILE (NSS key log, for Wireshark)' },
];

/** TLS options of `connect`. */
export const CLIENT_TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'servername', value: 'required', placeholder: 'NAME',
    help: 'server name to send (SNI) and to verify (default: HOST; localhost over a Unix socket)' },
  { name: 'ca', value: 'required', placeholder: 'FILE', help: 'trust the CA certificates in FILE (PEM) instead of the system roots' },
  { name: 'cert', value: 'required', placeholder: 'FILE', help: 'client certificate (PEM), with --key' },
  { name: 'key', value: 'required', placeholder: 'FILE', help: 'private key of --cert (PEM)' },
  { name: 'insecure', value: 'none', help: 'do not verify the server certificate (testing only)' },
  { name: 'alpn', value: 'required', placeholder: 'a,b', help: 'ALPN protocols to offer, most preferred first' },
  { name: 'showcerts', value: 'none', help: "print the server's certificate chain (PEM each, leaf first) on stderr" },
  { name: 'sess-out', value: 'required', placeholder: 'FILE', help: 'save the TLS session to FILE, to resume it later' },
  { name: 'sess-in', value: 'required', placeholder: 'FILE', help: 'resume the TLS session saved in FILE (--sess-out)' },
  { name: 'legacy-server-connect', value: 'none',
    help: 'reach a server without secure renegotiation (RFC 5746), such as a forge server' },
  ...TUNING_FLAGS,
];

/** TLS options of `listen`. */
export const SERVER_TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'cert', value: 'required', placeholder: 'FILE', help: 'server certificate (PEM), with --key' },
  { name: 'key', value: 'required', placeholder: 'FILE', help: 'private key of --cert (PEM)' },
  { name: 'self-signed', value: 'none', help: 'make a throwaway certificate for localhost (clients need --insecure)' },
  { name: 'ca', value: 'required', placeholder: 'FILE', help: 'CA certificates (PEM) that sign client certificates, with --verify or --require-client-cert' },
  { name: 'verify', value: 'none', help: 'ask clients for a certificate and refuse one that does not verify (none is accepted)' },
  { name: 'require-client-cert', value: 'none', help: 'ask clients for a certificate and refuse those without a valid one (mutual TLS)' },
  { name: 'alpn', value: 'required', placeholder: 'a,b', help: 'ALPN protocols to accept, most preferred first' },
  ...TUNING_FLAGS,
];

/** Options for {@link stackFromFlags}. */
export interface StackOptions {
  /** A tag for each connection's log lines (a listener's connection number), from the connection's remote. */
  readonly tagOf?: (remote: RemoteInfo) => string;
  /** Over a Unix socket, the server name a client sends and verifies when --servername is not given. */
  readonly defaultServername?: string;
  /** The TLS handshake's time limit (`--connect-timeout`), instead of the filter's 10 s. */
  readonly handshakeTimeoutMs?: number;
}

/** The stack a command line describes. */
export interface FlagStack {
  readonly filters: readonly Filter[];
  /** The layer names, lowest first, for messages. */
  readonly names: readonly string[];
  /** With `--self-signed`: the SHA-256 fingerprint of the certificate made, for the user to check. */
  readonly selfSigned: string | undefined;
  /** With `--verify` (not `--require-client-cert`): certificates that fail verification are refused after the handshake. */
  readonly verifyClients: boolean;
  /** The same stack for one connection, its logs named `TAG NAME` (a proxy's target side, made per client). */
  tagged(tag: string): readonly Filter[];
}

/** Builds the stack of `args` for a client (`connect`) or a server (`listen`). */
export async function stackFromFlags(args: ParsedArgs, role: 'client' | 'server', options: StackOptions = {}): Promise<FlagStack> {
  const tlsFlags = role === 'client' ? CLIENT_TLS_FLAGS : SERVER_TLS_FLAGS;
  const wantsTls = has(args, 'tls');
  for (const spec of tlsFlags) {
    if (!wantsTls && has(args, spec.name)) throw usage(`--${spec.name} needs --tls`);
  }
  let selfSigned: string | undefined;
  let tlsFilter: Filter | undefined;
  if (wantsTls) {
    const timeout = options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeout: options.handshakeTimeoutMs };
    const built = role === 'client' ? tls.client({ ...clientOptions(args, options.defaultServername), ...timeout }) : await serverTls(args);
    tlsFilter = 'filter' in built ? built.filter : built;
    if ('fingerprint' in built) selfSigned = built.fingerprint;
  }
  const build = (tagOf: StackOptions['tagOf']): { filters: Filter[]; names: string[] } => {
    const filters: Filter[] = [];
    const names: string[] = [];
    for (const flag of args.flags) {
      if (flag.name === 'tls') {
        filters.push(tlsFilter!);
        names.push('tls');
      } else if (flag.name === 'deflate') {
        filters.push(deflate());
        names.push('deflate');
      } else if (flag.name === 'log') {
        const name = logName(names);
        filters.push(logFilter(name, (flag.value ?? 'summary') as LogFormat, tagOf));
        names.push(name);
      }
    }
    return { filters, names };
  };
  const { filters, names } = build(options.tagOf);
  return {
    filters, names, selfSigned,
    verifyClients: role === 'server' && has(args, 'verify'),
    tagged: (tag) => build(() => tag).filters,
  };
}

// A log is named for where it sits: `wire` on the socket, `over-tls` above
// TLS, and so on, so that two logs in one stack are told apart.
function logName(below: readonly string[]): string {
  const base = below.length === 0 ? 'wire' : `over-${below.at(-1)!.replace(/^over-|#\d+$/g, '')}`;
  const taken = below.filter((n) => n === base || n.startsWith(`${base}#`)).length;
  return taken === 0 ? base : `${base}#${taken + 1}`;
}

// With a tag, each connection gets a log of its own named `TAG NAME`, so
// that the lines of a listener's connections can be told apart.
function logFilter(name: string, format: LogFormat, tagOf: StackOptions['tagOf']): Filter {
  if (!tagOf) return log({ name, format });
  return { name, attach: (lower, ctx) => log({ name: `${tagOf(ctx.remote)} ${name}`, format }).attach(lower, ctx) };
}

function clientOptions(args: ParsedArgs, defaultServername: string | undefined): TlsClientOptions {
  const options: TlsClientOptions = {};
  const ca = valueOf(args, 'ca');
  if (ca !== undefined) options.ca = readCertificates(ca, 'ca');
  Object.assign(options, identity(args));
  const servername = valueOf(args, 'servername') ?? defaultServername;
  if (servername !== undefined) options.servername = servername;
  if (has(args, 'insecure')) options.rejectUnauthorized = false;
  if (has(args, 'legacy-server-connect')) {
    // Renegotiation stays refused: only the missing extension is forgiven.
    options.secureOptions = constants.SSL_OP_LEGACY_SERVER_CONNECT | constants.SSL_OP_NO_RENEGOTIATION;
  }
  const sessIn = valueOf(args, 'sess-in');
  if (sessIn !== undefined) options.session = readFile(sessIn, 'sess-in');
  Object.assign(options, common(args));
  return options;
}

async function serverTls(args: ParsedArgs): Promise<{ filter: Filter; fingerprint?: string }> {
  const options: TlsServerOptions = common(args);
  oneOf(args, ['verify', 'require-client-cert']);
  const ca = valueOf(args, 'ca');
  const askCert = has(args, 'verify') || has(args, 'require-client-cert');
  if (askCert && ca === undefined) throw usage(`--${has(args, 'verify') ? 'verify' : 'require-client-cert'} needs --ca FILE (the CA that signs client certificates)`);
  if (ca !== undefined && !askCert) throw usage('--ca on listen needs --verify or --require-client-cert');
  if (ca !== undefined) {
    options.ca = readCertificates(ca, 'ca');
    options.requestCert = true;
    // --verify judges the certificate itself, after the handshake, so that a client without one gets in.
    options.rejectUnauthorized = has(args, 'require-client-cert');
  }
  if (has(args, 'self-signed')) {
    if (has(args, 'cert') || has(args, 'key')) throw usage('give either --self-signed or --cert and --key, not both');
    // Loaded only here: certificate making pulls in node-forge, which every other run can do without.
    const { makeCertificates } = await import('../lib/testing/index.js');
    const { server } = makeCertificates();
    const filter = tls.server({ ...options, cert: server.cert, key: server.key });
    return { filter, fingerprint: new X509Certificate(server.cert).fingerprint256 };
  }
  const pair = identity(args);
  if (pair.cert === undefined) throw usage('--tls needs --cert FILE and --key FILE, or --self-signed');
  return { filter: tls.server({ ...options, ...pair }) };
}

// --cert and --key: both or neither, and the key must be the certificate's.
function identity(args: ParsedArgs): { cert?: string; key?: string } {
  const certFile = valueOf(args, 'cert');
  const keyFile = valueOf(args, 'key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw usage('--cert and --key go together');
  if (certFile === undefined || keyFile === undefined) return {};
  const cert = readCertificates(certFile, 'cert');
  const { pem: key, object } = readKey(keyFile);
  if (!new X509Certificate(cert).checkPrivateKey(object)) {
    throw usage(`--cert and --key do not match: ${keyFile} is not the key of the certificate in ${certFile}`);
  }
  return { cert, key };
}

// Options both roles take.
type CommonTlsOptions = Pick<TlsClientOptions, 'alpn' | 'engine' | 'minVersion' | 'maxVersion' | 'ciphers' | 'keylog'>;

function common(args: ParsedArgs): CommonTlsOptions {
  const options: CommonTlsOptions = {};
  const alpn = valueOf(args, 'alpn');
  if (alpn !== undefined) {
    const protocols = alpn.split(',').map((p) => p.trim());
    if (protocols.some((p) => p === '')) throw usage(`--alpn: empty protocol name in "${alpn}"`);
    options.alpn = protocols;
  }
  const engine = valueOf(args, 'tls-engine') as 'node' | 'forge' | undefined;
  if (engine !== undefined) options.engine = engine;
  const min = valueOf(args, 'tls-min') as TlsVersion | undefined;
  const max = valueOf(args, 'tls-max') as TlsVersion | undefined;
  // Forge speaks only TLS 1.0 and 1.1: naming it on the command line is the
  // consent the filter asks for before going below its TLS 1.2 default.
  if (min !== undefined) options.minVersion = min;
  else if (engine === 'forge' || (max !== undefined && VERSIONS.indexOf(max) < VERSIONS.indexOf('TLSv1.2'))) options.minVersion = 'TLSv1';
  if (max !== undefined) {
    if (options.minVersion !== undefined && VERSIONS.indexOf(max) < VERSIONS.indexOf(options.minVersion)) {
      throw usage(`--tls-max ${max} is below --tls-min ${options.minVersion}`);
    }
    options.maxVersion = max;
  }
  const ciphers = valueOf(args, 'ciphers');
  if (ciphers !== undefined) options.ciphers = ciphers;
  const keylog = valueOf(args, 'keylog');
  if (keylog !== undefined) options.keylog = keylog;
  return options;
}

function readFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usage(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

// The certificates of a PEM file, each checked, so that a wrong file is
// named for what it is instead of failing later as a verification error.
function readCertificates(file: string, flag: string): string {
  const pem = readFile(file, flag).toString('utf8');
  const certificates = pem.match(CERTIFICATE) ?? [];
  if (certificates.length === 0) {
    const held = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) ? 'a private key' : 'no PEM certificate';
    throw usage(`--${flag}: ${file} holds ${held}, not a certificate${flag === 'ca' ? " (give the CA's certificate)" : ''}`);
  }
  for (const [i, certificate] of certificates.entries()) {
    try {
      new X509Certificate(certificate);
    } catch (err) {
      throw usage(`--${flag}: certificate ${i + 1} in ${file} cannot be read: ${(err as Error).message}`);
    }
  }
  return pem;
}

function readKey(file: string): { pem: string; object: KeyObject } {
  const pem = readFile(file, 'key').toString('utf8');
  try {
    return { pem, object: createPrivateKey(pem) };
  } catch (err) {
    const held = pem.includes('-----BEGIN CERTIFICATE-----') ? 'a certificate, not a private key' : `no private key that can be read (${(err as Error).message})`;
    throw usage(`--key: ${file} holds ${held}`);
  }
}

/**
 * Turns the filter flags of a command line into a stack: `--log`, `--tls`
 * and `--deflate` become filters in the order given, lowest first, and the
 * TLS flags (`--ca`, `--cert`, …) become the TLS filter's options wherever
 * they appear.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Filter } from '../lib/filter.js';
import { deflate } from '../filters/deflate.js';
import { log, type LogFormat } from '../filters/log/index.js';
import { tls, type TlsClientOptions, type TlsServerOptions, type TlsVersion } from '../filters/tls/index.js';
import { has, usage, valueOf, type FlagSpec, type ParsedArgs } from './args.js';

/** The flags that add a layer; their order on the command line is the stack's. */
export const LAYER_FLAGS: readonly FlagSpec[] = [
  { name: 'log', value: 'optional', placeholder: 'summary|hex|text', choices: ['summary', 'hex', 'text'],
    help: 'add a layer that logs what crosses it on stderr (TLS records are named)' },
  { name: 'tls', value: 'none', help: 'add a TLS layer' },
  { name: 'deflate', value: 'none', help: 'add a compression layer (the peer needs one too)' },
];

// Protocol tuning both commands take.
const TUNING_FLAGS: readonly FlagSpec[] = [
  { name: 'tls-engine', value: 'required', placeholder: 'node|forge', choices: ['node', 'forge'],
    help: 'TLS implementation: node (OpenSSL, default) or forge (JavaScript; TLS 1.0/1.1 only, implies --tls-min TLSv1)' },
  { name: 'tls-min', value: 'required', placeholder: 'VERSION', choices: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    help: 'lowest TLS version accepted (default TLSv1.2)' },
  { name: 'ciphers', value: 'required', placeholder: 'LIST',
    help: 'OpenSSL cipher list, replacing the default (TLS 1.3, and ECDHE with AES-GCM or ChaCha20 in TLS 1.2)' },
];

/** TLS options of `connect`. */
export const CLIENT_TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'servername', value: 'required', placeholder: 'NAME', help: 'server name to send (SNI) and to verify (default: HOST)' },
  { name: 'ca', value: 'required', placeholder: 'FILE', help: 'trust the CA certificates in FILE (PEM) instead of the system roots' },
  { name: 'cert', value: 'required', placeholder: 'FILE', help: 'client certificate (PEM), with --key' },
  { name: 'key', value: 'required', placeholder: 'FILE', help: 'private key of --cert (PEM)' },
  { name: 'insecure', value: 'none', help: 'do not verify the server certificate (testing only)' },
  { name: 'alpn', value: 'required', placeholder: 'a,b', help: 'ALPN protocols to offer, most preferred first' },
  ...TUNING_FLAGS,
];

/** TLS options of `listen`. */
export const SERVER_TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'cert', value: 'required', placeholder: 'FILE', help: 'server certificate (PEM), with --key' },
  { name: 'key', value: 'required', placeholder: 'FILE', help: 'private key of --cert (PEM)' },
  { name: 'self-signed', value: 'none', help: 'make a throwaway certificate for localhost (clients need --insecure)' },
  { name: 'alpn', value: 'required', placeholder: 'a,b', help: 'ALPN protocols to accept, most preferred first' },
  ...TUNING_FLAGS,
];

/** The stack a command line describes. */
export interface FlagStack {
  readonly filters: readonly Filter[];
  /** The layer names, lowest first, for messages. */
  readonly names: readonly string[];
  /** With `--self-signed`: the SHA-256 fingerprint of the certificate made, for the user to check. */
  readonly selfSigned: string | undefined;
}

/** Builds the stack of `args` for a client (`connect`) or a server (`listen`). */
export async function stackFromFlags(args: ParsedArgs, role: 'client' | 'server'): Promise<FlagStack> {
  const tlsFlags = role === 'client' ? CLIENT_TLS_FLAGS : SERVER_TLS_FLAGS;
  const wantsTls = has(args, 'tls');
  for (const spec of tlsFlags) {
    if (!wantsTls && has(args, spec.name)) throw usage(`--${spec.name} needs --tls`);
  }
  let selfSigned: string | undefined;
  let tlsFilter: Filter | undefined;
  if (wantsTls) {
    const built = role === 'client' ? tls.client(clientOptions(args)) : await serverTls(args);
    tlsFilter = 'filter' in built ? built.filter : built;
    if ('fingerprint' in built) selfSigned = built.fingerprint;
  }
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
      filters.push(log({ name, format: (flag.value ?? 'summary') as LogFormat }));
      names.push(name);
    }
  }
  return { filters, names, selfSigned };
}

// A log is named for where it sits: `wire` on the socket, `over-tls` above
// TLS, and so on, so that two logs in one stack are told apart.
function logName(below: readonly string[]): string {
  const base = below.length === 0 ? 'wire' : `over-${below.at(-1)!.replace(/^over-|#\d+$/g, '')}`;
  const taken = below.filter((n) => n === base || n.startsWith(`${base}#`)).length;
  return taken === 0 ? base : `${base}#${taken + 1}`;
}

function clientOptions(args: ParsedArgs): TlsClientOptions {
  const options: TlsClientOptions = {};
  const ca = valueOf(args, 'ca');
  if (ca !== undefined) options.ca = readPem(ca, 'ca');
  Object.assign(options, identity(args));
  const servername = valueOf(args, 'servername');
  if (servername !== undefined) options.servername = servername;
  if (has(args, 'insecure')) options.rejectUnauthorized = false;
  Object.assign(options, common(args));
  return options;
}

async function serverTls(args: ParsedArgs): Promise<{ filter: Filter; fingerprint?: string }> {
  const options: TlsServerOptions = common(args);
  if (has(args, 'self-signed')) {
    if (has(args, 'cert') || has(args, 'key')) throw usage('give either --self-signed or --cert and --key, not both');
    // Loaded only here: certificate making pulls in node-forge, which every other run can do without.
    const { makeCertificates } = await import('../lib/testing/certificates.js');
    const { server } = makeCertificates();
    const filter = tls.server({ ...options, cert: server.cert, key: server.key });
    return { filter, fingerprint: new X509Certificate(server.cert).fingerprint256 };
  }
  const pair = identity(args);
  if (pair.cert === undefined) throw usage('--tls needs --cert FILE and --key FILE, or --self-signed');
  return { filter: tls.server({ ...options, ...pair }) };
}

// --cert and --key: both or neither.
function identity(args: ParsedArgs): { cert?: string; key?: string } {
  const cert = valueOf(args, 'cert');
  const key = valueOf(args, 'key');
  if ((cert === undefined) !== (key === undefined)) throw usage('--cert and --key go together');
  if (cert === undefined || key === undefined) return {};
  return { cert: readPem(cert, 'cert'), key: readPem(key, 'key') };
}

// Options both roles take.
type CommonTlsOptions = Pick<TlsClientOptions, 'alpn' | 'engine' | 'minVersion' | 'ciphers'>;

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
  // Forge speaks only TLS 1.0 and 1.1: naming it on the command line is the
  // consent the filter asks for before going below its TLS 1.2 default.
  if (min !== undefined) options.minVersion = min;
  else if (engine === 'forge') options.minVersion = 'TLSv1';
  const ciphers = valueOf(args, 'ciphers');
  if (ciphers !== undefined) options.ciphers = ciphers;
  return options;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

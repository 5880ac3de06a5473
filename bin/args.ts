/**
 * The command line, read with `node:util`'s `parseArgs` (`tokens: true`):
 * flags are kept in the order given, because for wirestack the order of
 * `--log`, `--tls` and `--deflate` is the order of the stack. `parseArgs`
 * splits the words (`--ca=FILE`, `-kq`, `-w5`, `--`); this module checks
 * them against the command's flags, so that every mistake is one
 * `ERR_WIRESTACK_INVALID_ARGUMENT` that says what to write instead.
 *
 * What `parseArgs` cannot do by itself, and is done here from its tokens: a
 * value that is optional (`--log` or `--log=hex`: declared a boolean, so
 * that `--log HOST:PORT` never swallows the address, with the value read
 * from the token's inline value), and telling `-servername` (a word in
 * OpenSSL's style) from a group of one-letter flags (`-kq`).
 */
import { parseArgs as tokenize } from 'node:util';
import { WirestackError } from '../lib/index.js';

/** How a flag takes a value: never, always (`--ca FILE` or `--ca=FILE`), or optionally (`--log` or `--log=hex`). */
export type ValueKind = 'none' | 'required' | 'optional';

/** One flag a command accepts. */
export interface FlagSpec {
  /** The long name, without dashes (`'servername'`). */
  readonly name: string;
  /** A one-letter alias (`'q'` for `-q`). */
  readonly short?: string;
  readonly value: ValueKind;
  /** The placeholder shown in help (`FILE`), or the choices (`summary|hex|text`). */
  readonly placeholder?: string;
  /** For flags with a fixed set of values: the values allowed. */
  readonly choices?: readonly string[];
  /** One line for `--help`. */
  readonly help: string;
}

/** One flag as given on the command line. */
export interface GivenFlag {
  readonly name: string;
  /** The value, or `undefined` for a flag given without one. */
  readonly value: string | undefined;
}

/** What {@link parseArgs} returns. */
export interface ParsedArgs {
  /** Flags in the order given. */
  readonly flags: readonly GivenFlag[];
  /** The other arguments, in order. */
  readonly positionals: readonly string[];
}

/**
 * Parses `argv` against `specs`. `--` ends the flags. A required value may
 * follow as the next argument; an optional one only after `=`.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  checkSingleDashWords(argv, specs);
  const options = Object.fromEntries(specs.map((s) => [s.name, {
    type: s.value === 'required' ? 'string' as const : 'boolean' as const,
    ...(s.short === undefined ? {} : { short: s.short }),
  }]));
  const { tokens } = tokenize({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags: GivenFlag[] = [];
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = specs.find((s) => s.name === token.name);
    if (!spec) throw usage(unknownFlag(token.rawName, specs));
    const shown = `--${spec.name}`;
    let value = token.value;
    if (spec.value === 'none' && value !== undefined) throw usage(`${shown} takes no value`);
    // parseArgs takes the next word as the value even when it is a flag (`--ca --tls`).
    if (spec.value === 'required' && (value === undefined || (!token.inlineValue && value.startsWith('--')))) {
      throw usage(`${shown} needs a value (${spec.placeholder ?? 'VALUE'})`);
    }
    if (spec.value === 'optional' && !token.inlineValue) value = undefined;
    if (spec.choices && value !== undefined && !spec.choices.includes(value)) {
      throw usage(`${shown} must be one of ${spec.choices.join(', ')}, got "${value}"`);
    }
    flags.push({ name: spec.name, value });
  }
  return { flags, positionals };
}

// `-servername` would reach parseArgs as -s -e -r …: a word with one dash is
// taken only as a group of one-letter flags (`-kq`, `-w5`); anything else is
// answered with the flag to write instead.
function checkSingleDashWords(argv: readonly string[], specs: readonly FlagSpec[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    if (!/^-[^-]./.test(arg)) continue;
    if (!isShortGroup(arg.slice(1), specs)) throw usage(unknownFlag(arg.split('=')[0]!, specs));
  }
}

function isShortGroup(letters: string, specs: readonly FlagSpec[]): boolean {
  for (let i = 0; i < letters.length; i++) {
    const spec = specs.find((s) => s.short === letters[i]);
    if (!spec) return false;
    // The rest of the word is this flag's value (`-w5`).
    if (spec.value === 'required') return true;
  }
  return true;
}

// What other tools call a flag, by the name written (OpenSSL's single-dash
// words, ncat's and socat's long flags), and what to write in wirestack.
// A suggestion names a flag and is given only when this command has it.
const FOREIGN_FLAGS: Readonly<Record<string, { flag: string; text?: string } | { text: string }>> = {
  // openssl s_client / s_server
  '-servername': { flag: 'servername' },
  '-CAfile': { flag: 'ca', text: '--ca FILE' },
  '-cert': { flag: 'cert' },
  '-key': { flag: 'key' },
  '-alpn': { flag: 'alpn' },
  '-keylogfile': { flag: 'keylog', text: '--keylog FILE' },
  '-sess_out': { flag: 'sess-out' },
  '-sess_in': { flag: 'sess-in' },
  '-showcerts': { flag: 'showcerts' },
  '-legacy_server_connect': { flag: 'legacy-server-connect' },
  '-cipher': { flag: 'ciphers' },
  '-ciphersuites': { flag: 'ciphers' },
  '-min_protocol': { flag: 'tls-min' },
  '-max_protocol': { flag: 'tls-max' },
  '-tls1': { flag: 'tls-max', text: '--tls-min TLSv1 --tls-max TLSv1' },
  '-tls1_1': { flag: 'tls-max', text: '--tls-min TLSv1.1 --tls-max TLSv1.1' },
  '-tls1_2': { flag: 'tls-max', text: '--tls-min TLSv1.2 --tls-max TLSv1.2' },
  '-tls1_3': { flag: 'tls-min', text: '--tls-min TLSv1.3' },
  '-verify': { flag: 'verify' },
  '-Verify': { flag: 'require-client-cert' },
  '-msg': { flag: 'log', text: '--log before --tls' },
  '-quiet': { flag: 'quiet', text: '-q' },
  '-connect': { text: 'the address as an argument: wirestack connect HOST:PORT' },
  '-accept': { text: 'the address as an argument: wirestack listen [HOST:]PORT' },
  '-port': { text: 'the address as an argument: wirestack listen [HOST:]PORT' },
  '-unix': { text: 'the address as an argument: unix:PATH' },
  // ncat
  '--ssl': { flag: 'tls' },
  '--ssl-cert': { flag: 'cert' },
  '--ssl-key': { flag: 'key' },
  '--ssl-trustfile': { flag: 'ca' },
  '--ssl-alpn': { flag: 'alpn' },
  '--ssl-ciphers': { flag: 'ciphers' },
  '--ssl-servername': { flag: 'servername' },
  '--sh-exec': { flag: 'exec' },
  '-e': { flag: 'exec' },
  '-c': { flag: 'exec' },
  '--wait': { flag: 'connect-timeout', text: '-w or --connect-timeout' },
  '--listen': { text: 'the command wirestack listen' },
  '-l': { text: 'the command wirestack listen' },
  '--unixsock': { text: 'a unix:PATH address' },
  '-U': { text: 'a unix:PATH address' },
  '--verbose': { flag: 'log' },
  '-v': { flag: 'log' },
};

// "unknown flag X", with what to write instead when there is a likely answer.
function unknownFlag(raw: string, specs: readonly FlagSpec[]): string {
  const names = new Set(specs.map((s) => s.name));
  const foreign = FOREIGN_FLAGS[raw];
  let suggestion: string | undefined;
  if (foreign && (!('flag' in foreign) || names.has(foreign.flag))) {
    suggestion = foreign.text ?? `--${(foreign as { flag: string }).flag}`;
  } else {
    const word = raw.replace(/^-+/, '');
    const near = specs.find((s) => s.name === word) ?? specs.find((s) => word.length > 2 && editDistance(word, s.name) <= 2);
    if (near) suggestion = `--${near.name}`;
  }
  return `unknown flag ${raw}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`;
}

// Levenshtein distance, for "did you mean" on a mistyped long flag.
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Whether a flag was given. */
export function has(args: ParsedArgs, name: string): boolean {
  return args.flags.some((f) => f.name === name);
}

/** The value of a flag given at most once (the last one wins, as in most tools). */
export function valueOf(args: ParsedArgs, name: string): string | undefined {
  let found: string | undefined;
  for (const flag of args.flags) if (flag.name === name) found = flag.value;
  return found;
}

/** Every value of a flag that may be given more than once, in order. */
export function valuesOf(args: ParsedArgs, name: string): string[] {
  return args.flags.filter((f) => f.name === name && f.value !== undefined).map((f) => f.value!);
}

/** A usage mistake: the code every bad flag or argument gets. */
export function usage(message: string): WirestackError {
  return new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', message, { layer: 'cli' });
}

/** Throws unless at most one of `names` was given. */
export function oneOf(args: ParsedArgs, names: readonly string[]): void {
  const given = names.filter((n) => has(args, n));
  if (given.length > 1) throw usage(`give ${given.map((n) => `--${n}`).join(' or ')}, not both`);
}

/** Formats the flags for `--help`, one per line, aligned with every flag of `alignWith` (default: `specs`). */
export function formatFlags(specs: readonly FlagSpec[], alignWith: readonly FlagSpec[] = specs): string {
  const width = Math.max(...alignWith.map((s) => flagSynopsis(s).length)) + 2;
  return specs.map((s) => `  ${flagSynopsis(s).padEnd(width)}${s.help}`).join('\n');
}

// `-q, --quiet`, `    --ca FILE`, `    --log[=summary|hex|text]`.
function flagSynopsis(spec: FlagSpec): string {
  const names = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.name}`;
  if (spec.value === 'none') return names;
  const placeholder = spec.placeholder ?? 'VALUE';
  return spec.value === 'optional' ? `${names}[=${placeholder}]` : `${names} ${placeholder}`;
}

/**
 * A duration as ncat writes one: seconds by default, or with a unit
 * (`500ms`, `2s`, `1m`). Returns milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw usage(`--${flag}: "${text}" is not a duration (seconds, or with a unit: 500ms, 2s, 1m)`);
  const ms = Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000 }[match[2] ?? 's'] ?? 1000);
  if (ms <= 0) throw usage(`--${flag} must be more than 0`);
  return ms;
}

/** A whole number of bytes ≥ 0 (`--limit 1000`). */
export function parseBytes(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw usage(`--${flag}: "${text}" is not a whole number of bytes`);
  return Number(text);
}

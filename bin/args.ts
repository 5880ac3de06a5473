/**
 * A small command-line parser. Flags are kept in the order given, because
 * for wirestack the order of `--log`, `--tls` and `--deflate` is the order
 * of the stack. Every mistake is one `ERR_WIRESTACK_INVALID_ARGUMENT`.
 */
import { WirestackError } from '../lib/errors.js';

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
 * follow as the next argument; an optional one only after `=`, so that
 * `--log HOST:PORT` never swallows the address.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags: GivenFlag[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const key = long ? arg.slice(2, eq === -1 ? undefined : eq) : arg.slice(1, eq === -1 ? undefined : eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    const spec = specs.find((s) => (long ? s.name === key : s.short === key));
    if (!spec) throw usage(`unknown flag ${long ? '--' : '-'}${key}`);
    const shown = `--${spec.name}`;
    if (spec.value === 'none' && value !== undefined) throw usage(`${shown} takes no value`);
    if (spec.value === 'required' && value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw usage(`${shown} needs a value (${spec.placeholder ?? 'VALUE'})`);
      i++;
    }
    if (spec.choices && value !== undefined && !spec.choices.includes(value)) {
      throw usage(`${shown} must be one of ${spec.choices.join(', ')}, got "${value}"`);
    }
    flags.push({ name: spec.name, value });
  }
  return { flags, positionals };
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

/** A usage mistake: the code every bad flag or argument gets. */
export function usage(message: string): WirestackError {
  return new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', message, { layer: 'cli' });
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

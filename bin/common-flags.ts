/**
 * The flags `connect` and `listen` share beyond the stack: what to do with
 * standard input and output (ncat's `--send-only`, `--recv-only`), the idle
 * timeout, and the usual `-q`, `--version`, `--help`.
 */
import { has, oneOf, parseDuration, valueOf, type FlagSpec, type ParsedArgs } from './args.js';
import { versionLine } from './version.js';

/** ncat's one-way and idle flags. */
export const TRANSFER_FLAGS: readonly FlagSpec[] = [
  { name: 'send-only', value: 'none', help: 'only send standard input; discard what arrives, and exit once input is sent' },
  { name: 'recv-only', value: 'none', help: 'only receive; standard input is not read, our side closes after the peer\'s end' },
  { name: 'idle-timeout', short: 'i', value: 'required', placeholder: 'TIME',
    help: 'fail (ERR_WIRESTACK_IDLE_TIMEOUT) when nothing moves either way for TIME (2s, 500ms; seconds by default)' },
];

/** `-q`, `--version`, `-h`; `quiet` says what -q keeps. */
export function otherFlags(quiet: string): readonly FlagSpec[] {
  return [
    { name: 'quiet', short: 'q', value: 'none', help: quiet },
    { name: 'version', value: 'none', help: 'print the version (and Node\'s and OpenSSL\'s) and exit' },
    { name: 'help', short: 'h', value: 'none', help: 'show this help' },
  ];
}

/** Prints `help` for --help, the version for --version; true when it did, and the command is done. */
export function answeredHelpOrVersion(args: ParsedArgs, help: string): boolean {
  const text = has(args, 'help') ? help : has(args, 'version') ? versionLine() : undefined;
  if (text !== undefined) process.stdout.write(`${text}\n`);
  return text !== undefined;
}

/** What the transfer flags ask for. */
export interface Transfer {
  readonly sendOnly: boolean;
  readonly recvOnly: boolean;
  readonly idleTimeoutMs: number | undefined;
}

/** Reads the transfer flags. */
export function transferFrom(args: ParsedArgs): Transfer {
  oneOf(args, ['send-only', 'recv-only']);
  const idle = valueOf(args, 'idle-timeout');
  return {
    sendOnly: has(args, 'send-only'),
    recvOnly: has(args, 'recv-only'),
    idleTimeoutMs: idle === undefined ? undefined : parseDuration(idle, 'idle-timeout'),
  };
}

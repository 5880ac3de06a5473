/**
 * What wirestack needs to know about the JavaScript runtime it runs in, and
 * the few host facilities it uses that not every runtime has (a process to
 * warn on, timers that can be unref'ed, `setImmediate`).
 * Code that must run in browsers goes through these instead of Node's globals.
 */
import { WirestackError } from './errors.js';

interface MaybeProcess {
  versions?: { node?: string };
  emitWarning?: (message: string) => void;
}

interface MaybeGlobals {
  process?: MaybeProcess;
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  navigator?: { userAgent?: string };
  setImmediate?: (callback: () => void) => unknown;
}

const host = globalThis as unknown as MaybeGlobals;

/** Which runtime this is, for the few places that must tell them apart. */
export function runtimeKind(): 'node' | 'deno' | 'bun' | 'browser' | 'other' {
  if (host.Deno?.version?.deno) return 'deno';
  if (typeof host.Bun?.version === 'string') return 'bun';
  if (typeof host.process?.versions?.node === 'string') return 'node';
  return typeof host.navigator?.userAgent === 'string' ? 'browser' : 'other';
}

/** The runtime's name and version, for messages: `'Node.js 20.20.2'`, `'Deno 2.9.6'`, `'Bun 1.4.4'`, or a browser's. */
export function runtimeName(): string {
  if (host.Deno?.version?.deno) return `Deno ${host.Deno.version.deno}`;
  if (typeof host.Bun?.version === 'string') return `Bun ${host.Bun.version}`;
  const node = host.process?.versions?.node;
  if (typeof node === 'string') return `Node.js ${node}`;
  const agent = host.navigator?.userAgent ?? '';
  const browser = /(Chromium|Chrome|Firefox|Version)\/(\d+)/.exec(agent);
  if (browser) return `a browser (${browser[1] === 'Version' ? 'Safari' : browser[1]} ${browser[2]})`;
  return 'this JavaScript runtime';
}

/**
 * The error for a part of wirestack the browser build leaves out: `what`
 * needs `needs`; the message names the runtime and what to use instead.
 */
export function unsupportedRuntime(what: string, needs: string, instead?: string): WirestackError {
  return new WirestackError('ERR_WIRESTACK_UNSUPPORTED_RUNTIME',
    `${what} needs ${needs}, which the browser build of wirestack (running in ${runtimeName()}) does not have${instead ? `; ${instead}` : ''}`);
}

/** Reports a bug that must not stop the program: a process warning in Node, the console elsewhere. */
export function emitWarning(message: string): void {
  const warn = host.process?.emitWarning;
  if (typeof warn === 'function') warn.call(host.process, message);
  else console.warn(message);
}

/** Lets the process exit while only `timer` is pending, where timers can say so (browsers' cannot, nor need to). */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** Runs `callback` after the events now pending (I/O, `nextTick`s): `setImmediate` where there is one. */
export function afterPendingEvents(callback: () => void): void {
  if (typeof host.setImmediate === 'function') host.setImmediate(callback);
  else setTimeout(callback, 0);
}

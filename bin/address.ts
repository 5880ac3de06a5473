/**
 * Address arguments: `HOST:PORT` and `[HOST:]PORT`, with IPv6 in brackets
 * (`[::1]:443`), as `ncat` and `openssl s_client` take them; and Unix
 * sockets, as `unix:PATH` or any path with a slash in it (`./app.sock`,
 * `/run/app.sock`).
 */
import type { Target } from '../lib/index.js';
import { usage } from './args.js';

/** A parsed TCP address; `host` is undefined when only a port was given. */
export interface HostPort {
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses a TCP address or a Unix socket path. */
export function parseAddress(text: string | undefined, hostOptional: boolean): Target {
  if (text !== undefined && (text.startsWith('unix:') || text.includes('/'))) {
    const path = text.startsWith('unix:') ? text.slice('unix:'.length) : text;
    if (path === '') throw usage('expected a path after "unix:"');
    return { path };
  }
  const { host, port } = parseHostPort(text, hostOptional);
  return host === undefined ? { port } : { host, port };
}

/** Parses `HOST:PORT`, `[V6]:PORT`, or (when `hostOptional`) a bare `PORT`. */
export function parseHostPort(text: string | undefined, hostOptional: boolean): HostPort {
  const form = hostOptional ? '[HOST:]PORT or unix:PATH' : 'HOST:PORT or unix:PATH';
  if (text === undefined) throw usage(`expected ${form}`);
  let host: string | undefined;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2]!;
  } else {
    const colon = text.lastIndexOf(':');
    // More than one colon without brackets: an IPv6 address whose port cannot be told apart.
    if (colon !== text.indexOf(':')) throw usage(`write an IPv6 address in brackets: [${text.slice(0, colon)}]:${text.slice(colon + 1)}`);
    if (colon === -1) {
      if (!hostOptional) throw usage(`expected ${form}, got "${text}"`);
      portText = text;
    } else {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  if (host === '') throw usage(`expected ${form}, got "${text}" (no host)`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw usage(`"${portText}" is not a port number (0–65535)`);
  return { host, port: Number(portText) };
}

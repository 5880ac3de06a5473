// The command-line parser of bin/args.ts and the address parser of
// bin/address.ts: flags kept in order (the order is the stack's), values
// in both spellings, flags written the way other tools write them answered
// with ours, and one coded error per mistake.
import { describe, expect, it } from 'vitest';
import { formatFlags, has, parseArgs, parseDuration, valueOf, valuesOf, type FlagSpec } from '../bin/args.js';
import { parseAddress, parseHostPort } from '../bin/address.js';
import { describeTarget } from '../lib/connect.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'log', value: 'optional', placeholder: 'summary|hex|text', choices: ['summary', 'hex', 'text'], help: 'log' },
  { name: 'tls', value: 'none', help: 'tls' },
  { name: 'ca', value: 'required', placeholder: 'FILE', help: 'ca' },
  { name: 'quiet', short: 'q', value: 'none', help: 'quiet' },
  { name: 'keep-open', short: 'k', value: 'none', help: 'keep open' },
  { name: 'connect-timeout', short: 'w', value: 'required', placeholder: 'TIME', help: 'wait' },
  { name: 'servername', value: 'required', placeholder: 'NAME', help: 'sni' },
];

function mistake(fn: () => unknown): { code?: string; message?: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error('no error thrown');
}

describe('parseArgs', () => {
  it('keeps flags in the order given, with positionals apart', () => {
    const args = parseArgs(['--log', 'host:1', '--tls', '--log=text', '--ca', 'a.pem', '-q', '--ca=b.pem'], SPECS);
    expect(args.flags).toEqual([
      { name: 'log', value: undefined }, { name: 'tls', value: undefined }, { name: 'log', value: 'text' },
      { name: 'ca', value: 'a.pem' }, { name: 'quiet', value: undefined }, { name: 'ca', value: 'b.pem' },
    ]);
    expect(args.positionals).toEqual(['host:1']);
    expect(valueOf(args, 'ca')).toBe('b.pem');   // the last one wins
    expect(has(args, 'quiet')).toBe(true);
    expect(has(args, 'missing')).toBe(false);
  });

  it('an optional value only after "=", so that "--log HOST:PORT" keeps the address', () => {
    expect(parseArgs(['--log', 'hex'], SPECS)).toEqual({ flags: [{ name: 'log', value: undefined }], positionals: ['hex'] });
  });

  it('"--" ends the flags; "-" is a positional', () => {
    expect(parseArgs(['-', '--', '--tls'], SPECS).positionals).toEqual(['-', '--tls']);
  });

  it('one-letter flags group (-kq) and take a value attached (-w5) or next (-w 5)', () => {
    expect(parseArgs(['-kq', '-w5', '-w', '6'], SPECS).flags).toEqual([
      { name: 'keep-open', value: undefined }, { name: 'quiet', value: undefined },
      { name: 'connect-timeout', value: '5' }, { name: 'connect-timeout', value: '6' },
    ]);
    expect(valuesOf(parseArgs(['--ca', 'a', '--ca=b'], SPECS), 'ca')).toEqual(['a', 'b']);
  });

  it('flags written as OpenSSL or ncat write them get the flag to use instead', () => {
    const said = (argv: string[]): string | undefined => mistake(() => parseArgs(argv, SPECS)).message;
    expect(said(['-servername', 'x'])).toBe('unknown flag -servername (did you mean --servername?)');
    expect(said(['-CAfile', 'ca.pem'])).toBe('unknown flag -CAfile (did you mean --ca FILE?)');
    expect(said(['-connect', 'h:1'])).toBe('unknown flag -connect (did you mean the address as an argument: wirestack connect HOST:PORT?)');
    expect(said(['--ssl'])).toBe('unknown flag --ssl (did you mean --tls?)');
    expect(said(['-quiet'])).toBe('unknown flag -quiet (did you mean -q?)');
    expect(said(['--tsl'])).toBe('unknown flag --tsl (did you mean --tls?)');
    // A suggestion is made only when this command has the flag.
    expect(said(['-alpn', 'h2'])).toBe('unknown flag -alpn');
    expect(said(['-kx'])).toBe('unknown flag -kx');
  });

  it('each mistake is ERR_WIRESTACK_INVALID_ARGUMENT naming it', () => {
    expect(mistake(() => parseArgs(['--nope'], SPECS))).toEqual({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT', message: 'unknown flag --nope' });
    expect(mistake(() => parseArgs(['-x'], SPECS)).message).toBe('unknown flag -x');
    expect(mistake(() => parseArgs(['--tls=yes'], SPECS)).message).toBe('--tls takes no value');
    expect(mistake(() => parseArgs(['--ca'], SPECS)).message).toBe('--ca needs a value (FILE)');
    expect(mistake(() => parseArgs(['--log=loud'], SPECS)).message).toBe('--log must be one of summary, hex, text, got "loud"');
    expect(mistake(() => parseArgs(['--ca', '--tls'], SPECS)).message).toBe('--ca needs a value (FILE)');
  });

  it('durations as ncat writes them: seconds, or with a unit', () => {
    expect([parseDuration('2', 'w'), parseDuration('1.5s', 'w'), parseDuration('250ms', 'w'), parseDuration('1m', 'w')]).toEqual([2000, 1500, 250, 60_000]);
    expect(mistake(() => parseDuration('soon', 'idle-timeout')).message).toMatch(/^--idle-timeout: "soon" is not a duration/);
    expect(mistake(() => parseDuration('0', 'w')).message).toBe('--w must be more than 0');
  });

  it('formats help aligned, with placeholders', () => {
    expect(formatFlags(SPECS).split('\n')).toEqual([
      '      --log[=summary|hex|text]  log',
      '      --tls                     tls',
      '      --ca FILE                 ca',
      '  -q, --quiet                   quiet',
      '  -k, --keep-open               keep open',
      '  -w, --connect-timeout TIME    wait',
      '      --servername NAME         sni',
    ]);
  });
});

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port, and a bare port where the host is optional', () => {
    expect(parseHostPort('example.com:443', false)).toEqual({ host: 'example.com', port: 443 });
    expect(parseHostPort('[::1]:8443', false)).toEqual({ host: '::1', port: 8443 });
    expect(parseHostPort('0', true)).toEqual({ host: undefined, port: 0 });
    expect(parseHostPort('127.0.0.1:0', true)).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('rejects what is not an address, saying why', () => {
    expect(mistake(() => parseHostPort(undefined, false)).message).toBe('expected HOST:PORT or unix:PATH');
    expect(mistake(() => parseHostPort('8443', false)).message).toBe('expected HOST:PORT or unix:PATH, got "8443"');
    expect(mistake(() => parseHostPort(':80', false)).message).toBe('expected HOST:PORT or unix:PATH, got ":80" (no host)');
    expect(mistake(() => parseHostPort('h:http', false)).message).toBe('"http" is not a port number (0–65535)');
    expect(mistake(() => parseHostPort('h:65536', false)).message).toBe('"65536" is not a port number (0–65535)');
    expect(mistake(() => parseHostPort('fe80::1:80', false)).message).toBe('write an IPv6 address in brackets: [fe80::1]:80');
  });

  it('takes Unix socket paths as unix:PATH or any path with a slash', () => {
    expect(parseAddress('unix:/run/app.sock', false)).toEqual({ path: '/run/app.sock' });
    expect(parseAddress('./app.sock', true)).toEqual({ path: './app.sock' });
    expect(parseAddress('localhost:80', false)).toEqual({ host: 'localhost', port: 80 });
    expect(parseAddress('8080', true)).toEqual({ port: 8080 });
    expect(mistake(() => parseAddress('unix:', false)).message).toBe('expected a path after "unix:"');
  });

  it('formats IPv6 hosts in brackets', () => {
    expect(describeTarget({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(describeTarget({ host: 'localhost', port: 80 })).toBe('localhost:80');
    expect(describeTarget({ path: '/tmp/s.sock' })).toBe('/tmp/s.sock');
  });
});

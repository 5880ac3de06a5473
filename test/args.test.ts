// The command-line parser of bin/args.ts and the address parser of
// bin/address.ts: flags kept in order (the order is the stack's), values
// in both spellings, and one coded error per mistake.
import { describe, expect, it } from 'vitest';
import { formatFlags, has, parseArgs, valueOf, type FlagSpec } from '../bin/args.js';
import { parseHostPort } from '../bin/address.js';
import { describeTarget } from '../lib/connect.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'log', value: 'optional', placeholder: 'summary|hex|text', choices: ['summary', 'hex', 'text'], help: 'log' },
  { name: 'tls', value: 'none', help: 'tls' },
  { name: 'ca', value: 'required', placeholder: 'FILE', help: 'ca' },
  { name: 'quiet', short: 'q', value: 'none', help: 'quiet' },
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

  it('each mistake is ERR_WIRESTACK_INVALID_ARGUMENT naming it', () => {
    expect(mistake(() => parseArgs(['--nope'], SPECS))).toEqual({ code: 'ERR_WIRESTACK_INVALID_ARGUMENT', message: 'unknown flag --nope' });
    expect(mistake(() => parseArgs(['-x'], SPECS)).message).toBe('unknown flag -x');
    expect(mistake(() => parseArgs(['--tls=yes'], SPECS)).message).toBe('--tls takes no value');
    expect(mistake(() => parseArgs(['--ca'], SPECS)).message).toBe('--ca needs a value (FILE)');
    expect(mistake(() => parseArgs(['--log=loud'], SPECS)).message).toBe('--log must be one of summary, hex, text, got "loud"');
  });

  it('formats help aligned, with placeholders', () => {
    expect(formatFlags(SPECS).split('\n')).toEqual([
      '      --log[=summary|hex|text]  log',
      '      --tls                     tls',
      '      --ca FILE                 ca',
      '  -q, --quiet                   quiet',
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
    expect(mistake(() => parseHostPort(undefined, false)).message).toBe('expected HOST:PORT');
    expect(mistake(() => parseHostPort('8443', false)).message).toBe('expected HOST:PORT, got "8443"');
    expect(mistake(() => parseHostPort(':80', false)).message).toBe('expected HOST:PORT, got ":80" (no host)');
    expect(mistake(() => parseHostPort('h:http', false)).message).toBe('"http" is not a port number (0–65535)');
    expect(mistake(() => parseHostPort('h:65536', false)).message).toBe('"65536" is not a port number (0–65535)');
    expect(mistake(() => parseHostPort('fe80::1:80', false)).message).toBe('write an IPv6 address in brackets: [fe80::1]:80');
  });

  it('formats IPv6 hosts in brackets', () => {
    expect(describeTarget({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(describeTarget({ host: 'localhost', port: 80 })).toBe('localhost:80');
    expect(describeTarget({ path: '/tmp/s.sock' })).toBe('/tmp/s.sock');
  });
});

import { describe, expect, it } from 'vitest';
import { TlsRecordParser, decodeTlsRecordHeader, looksLikeTls, startsTlsHandshake, type TlsRecordEvent } from '../filters/log/tls-records.js';

// A record as it appears on the wire: type, version, length, then the body.
function record(type: number, version: number, body: Buffer | number): Buffer {
  const bytes = typeof body === 'number' ? Buffer.alloc(body, 0xab) : body;
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt16BE(version, 1);
  header.writeUInt16BE(bytes.length, 3);
  return Buffer.concat([header, bytes]);
}

// What a parser says about a stream cut into pieces, one summary per event.
function describeFeed(pieces: Buffer[]): string[][] {
  const parser = new TlsRecordParser();
  return pieces.map((piece) => parser.feed(piece).map(summarise));
}

function summarise(event: TlsRecordEvent): string {
  switch (event.kind) {
    case 'record':
      return `${event.header.typeName} ${event.header.versionName} ${event.header.length} body=${event.bodyBytes}`;
    case 'continuation':
      return `+${event.header.typeName} body=${event.bodyBytes} remaining=${event.remaining}`;
    case 'invalid':
      return `invalid ${event.bytes.toString('hex')}`;
  }
}

describe('TLS record parser', () => {
  it('decodes a header: type, version, length', () => {
    expect(decodeTlsRecordHeader(Buffer.from([22, 3, 1, 0x02, 0x00]))).toEqual({
      type: 22, typeName: 'handshake', version: 0x0301, versionName: 'TLSv1.0', length: 512,
    });
    expect(decodeTlsRecordHeader(Buffer.from([20, 3, 3, 0, 1]))?.typeName).toBe('change_cipher_spec');
    expect(decodeTlsRecordHeader(Buffer.from([21, 3, 3, 0, 2]))?.typeName).toBe('alert');
    expect(decodeTlsRecordHeader(Buffer.from([23, 3, 3, 0x40, 0x11]))).toMatchObject({ typeName: 'application_data', versionName: 'TLSv1.2', length: 16401 });
  });

  it('rejects what cannot be a header', () => {
    expect(decodeTlsRecordHeader(Buffer.from('GET /'))).toBe(null);
    expect(decodeTlsRecordHeader(Buffer.from([22, 2, 0, 0, 1]))).toBe(null);   // SSLv2-style version
    expect(decodeTlsRecordHeader(Buffer.from([23, 3, 9, 0, 1]))).toBe(null);   // unknown minor version
    expect(decodeTlsRecordHeader(Buffer.from([23, 3, 3, 0xff, 0xff]))).toBe(null); // longer than any record
    expect(decodeTlsRecordHeader(Buffer.from([23, 3, 3, 0]))).toBe(null);     // too short
  });

  it('decides whether a stream looks like TLS from its first bytes', () => {
    expect(looksLikeTls(Buffer.from([22, 3, 1, 2, 0]))).toBe(true);
    expect(looksLikeTls(Buffer.from([22]))).toBe(true);
    expect(looksLikeTls(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
    expect(looksLikeTls(Buffer.from([22, 4]))).toBe(false);
    expect(looksLikeTls(Buffer.alloc(0))).toBe(false);
  });

  it('tells where TLS starts on a plaintext stream: a whole handshake record header', () => {
    expect(startsTlsHandshake(record(22, 0x0301, 200))).toBe(true);
    expect(startsTlsHandshake(Buffer.from([22, 3, 1, 0]))).toBe(false);          // header not whole yet
    expect(startsTlsHandshake(record(23, 0x0303, 20))).toBe(false);              // not a handshake
    expect(startsTlsHandshake(Buffer.from([22, 3, 1, 0, 0]))).toBe(false);       // too short for a handshake message
    expect(startsTlsHandshake(Buffer.from('250 OK\r\n'))).toBe(false);
  });

  it('names several records in one chunk', () => {
    const chunk = Buffer.concat([record(22, 0x0303, 90), record(20, 0x0303, 1), record(23, 0x0303, 40)]);
    expect(describeFeed([chunk])).toEqual([[
      'handshake TLSv1.2 90 body=90',
      'change_cipher_spec TLSv1.2 1 body=1',
      'application_data TLSv1.2 40 body=40',
    ]]);
  });

  it('follows a record body split across chunks', () => {
    const wire = Buffer.concat([record(23, 0x0303, 1000), record(21, 0x0303, 2)]);
    expect(describeFeed([wire.subarray(0, 300), wire.subarray(300, 900), wire.subarray(900)])).toEqual([
      ['application_data TLSv1.2 1000 body=295'],
      ['+application_data body=600 remaining=105'],
      ['+application_data body=105 remaining=0', 'alert TLSv1.2 2 body=2'],
    ]);
  });

  it('names a record whose header is split across chunks, once, where the header completes', () => {
    const wire = Buffer.concat([record(22, 0x0301, 10), record(23, 0x0303, 20)]);
    // Cut inside the second header (offsets 15..19), then one byte at a time through it.
    const pieces = [wire.subarray(0, 17), wire.subarray(17, 18), wire.subarray(18, 19), wire.subarray(19, 22), wire.subarray(22)];
    expect(describeFeed(pieces)).toEqual([
      ['handshake TLSv1.0 10 body=10'],
      [],
      [],
      ['application_data TLSv1.2 20 body=2'],
      ['+application_data body=18 remaining=0'],
    ]);
  });

  it('works one byte at a time', () => {
    const wire = Buffer.concat([record(22, 0x0303, 3), record(20, 0x0303, 1)]);
    const events = describeFeed([...wire].map((byte) => Buffer.from([byte]))).flat();
    expect(events).toEqual([
      'handshake TLSv1.2 3 body=0',
      '+handshake body=1 remaining=2',
      '+handshake body=1 remaining=1',
      '+handshake body=1 remaining=0',
      'change_cipher_spec TLSv1.2 1 body=0',
      '+change_cipher_spec body=1 remaining=0',
    ]);
  });

  it('gives up, once, on bytes that are not TLS, even before a whole header has arrived', () => {
    const parser = new TlsRecordParser();
    expect(parser.feed(Buffer.from('GE')).map(summarise)).toEqual(['invalid 4745']);
    expect(parser.invalid).toBe(true);
    expect(parser.feed(Buffer.from([22, 3, 3, 0, 1, 0]))).toEqual([]);
  });

  it('gives up when a stream stops being TLS after a valid record', () => {
    const wire = Buffer.concat([record(23, 0x0303, 4), Buffer.from('HTTP/1.1 200 OK')]);
    expect(describeFeed([wire])).toEqual([['application_data TLSv1.2 4 body=4', 'invalid 485454502f']]);
  });
});

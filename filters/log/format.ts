/**
 * The logger's formatters: pure functions from bytes and facts to lines of
 * text. The log layer decides what to log; these decide how it reads.
 */
import type { TlsRecordEvent } from './tls-records.js';

/** Which way a chunk travels: `out` is written down toward the network, `in` is read up from it. */
export type Direction = 'out' | 'in';

/** Bytes per line of a hex dump, as `xxd` prints them. */
const HEX_BYTES_PER_LINE = 16;

/** The first part of every line: the layer's name and the milliseconds since the connection began. */
export function linePrefix(layer: string, ms: number): string {
  return `${layer} +${ms.toFixed(3)}ms`;
}

/** One line for one chunk: `wire +0.412ms out 517 bytes`. */
export function chunkLine(layer: string, ms: number, direction: Direction, bytes: number): string {
  return `${linePrefix(layer, ms)} ${direction} ${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
}

/** One line for an event: end of a direction, close, or an error with its code. */
export function eventLine(layer: string, ms: number, event: string): string {
  return `${linePrefix(layer, ms)} ${event}`;
}

/**
 * A hex dump as `xxd` prints it: an 8-digit offset, eight groups of two
 * bytes, then the bytes as ASCII (`.` for anything unprintable). `offset` is
 * where `bytes` begin in their direction's stream, so dumps of successive
 * chunks read as one.
 */
export function hexDump(bytes: Buffer, offset: number): string[] {
  const lines: string[] = [];
  for (let start = 0; start < bytes.length; start += HEX_BYTES_PER_LINE) {
    const row = bytes.subarray(start, start + HEX_BYTES_PER_LINE);
    let hex = '';
    for (let i = 0; i < HEX_BYTES_PER_LINE; i++) {
      if (i > 0 && i % 2 === 0) hex += ' ';
      hex += i < row.length ? row[i]!.toString(16).padStart(2, '0') : '  ';
    }
    let ascii = '';
    for (const byte of row) ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    lines.push(`${(offset + start).toString(16).padStart(8, '0')}: ${hex}  ${ascii}`);
  }
  return lines;
}

/**
 * The bytes as text, one line per line of the input, each starting with
 * `| `. Line ends and other control characters are shown as escapes
 * (`\r`, `\n`, `\t`, `\x00`), so what the peer really sent is visible.
 */
export function textLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const lines: string[] = [];
  let line = '';
  for (const char of text) {
    line += escapeChar(char);
    if (char === '\n') {
      lines.push(`| ${line}`);
      line = '';
    }
  }
  if (line !== '') lines.push(`| ${line}`);
  return lines;
}

/** The line that says how many bytes of a chunk were not dumped (the `maxBytes` cap). */
export function omittedLine(omitted: number): string {
  return `… ${omitted} more ${omitted === 1 ? 'byte' : 'bytes'} not shown`;
}

/** One line per TLS record a chunk starts or continues. */
export function tlsLines(events: readonly TlsRecordEvent[]): string[] {
  return events.map((event) => {
    switch (event.kind) {
      case 'record': {
        const { typeName, versionName, length } = event.header;
        const split = event.bodyBytes < length ? ` (${event.bodyBytes} here, ${length - event.bodyBytes} to come)` : '';
        return `tls ${typeName} ${versionName} length=${length}${split}`;
      }
      case 'continuation': {
        const rest = event.remaining > 0 ? `${event.remaining} to come` : 'record complete';
        return `tls … ${event.header.typeName} continues: ${event.bodyBytes} bytes (${rest})`;
      }
      case 'invalid':
        return `tls: not a TLS record header (${[...event.bytes].map(hexByte).join(' ')}); no longer parsing`;
    }
  });
}

const ESCAPES: Readonly<Record<string, string>> = { '\r': '\\r', '\n': '\\n', '\t': '\\t', '\\': '\\\\' };

function escapeChar(char: string): string {
  const escaped = ESCAPES[char];
  if (escaped !== undefined) return escaped;
  const code = char.codePointAt(0)!;
  return code < 0x20 || code === 0x7f ? `\\x${hexByte(code)}` : char;
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/**
 * A small parser of TLS record headers, for the logger: it names each record
 * (type, version, length) as the bytes go by and keeps its place across
 * chunks, so a header or a record split over many reads is still named once.
 * It reads headers only; record bodies are counted, never decoded.
 */

/** Bytes in a TLS record header: type (1), version (2), length (2). */
export const TLS_RECORD_HEADER_LENGTH = 5;

// RFC 8446 §5.2: a ciphertext record is at most 2^14 + 256 bytes; TLS 1.2
// allowed 2^14 + 2048. Anything longer is not a TLS record.
const MAX_RECORD_LENGTH = 16384 + 2048;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec',
  21: 'alert',
  22: 'handshake',
  23: 'application_data',
  24: 'heartbeat',
};

const VERSION_NAMES: Readonly<Record<number, string>> = {
  0x0300: 'SSLv3',
  0x0301: 'TLSv1.0',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
};

/** One record header, decoded. */
export interface TlsRecordHeader {
  /** The content type byte (20–24). */
  readonly type: number;
  /** Its name: `'handshake'`, `'change_cipher_spec'`, `'alert'`, `'application_data'`, `'heartbeat'`. */
  readonly typeName: string;
  /** The record-layer version (`0x0303` for TLS 1.2 and 1.3 records). */
  readonly version: number;
  /** Its name, e.g. `'TLSv1.2'`. */
  readonly versionName: string;
  /** Length of the record body in bytes. */
  readonly length: number;
}

/** What the parser found in one chunk. */
export type TlsRecordEvent =
  /** A record whose header completed in this chunk; `bodyBytes` of its body are in this chunk too. */
  | { readonly kind: 'record'; readonly header: TlsRecordHeader; readonly bodyBytes: number }
  /** The chunk began inside the body of a record named earlier; `bodyBytes` of it are here, `remaining` still to come. */
  | { readonly kind: 'continuation'; readonly header: TlsRecordHeader; readonly bodyBytes: number; readonly remaining: number }
  /** Bytes that cannot be a record header; the parser stops for good (the stream is not TLS, or it lost its place). */
  | { readonly kind: 'invalid'; readonly bytes: Buffer };

/**
 * Follows the record boundaries of one direction of a TLS stream. Feed it
 * every chunk in order; it returns what each chunk holds.
 *
 * @example
 * ```ts
 * const parser = new TlsRecordParser();
 * for (const event of parser.feed(chunk)) if (event.kind === 'record') console.log(event.header.typeName);
 * ```
 */
export class TlsRecordParser {
  // Bytes of a header split across chunks; emptied when the header completes.
  #partialHeader: Buffer = Buffer.alloc(0);
  // The record whose body is being read; null between records.
  #current: TlsRecordHeader | null = null;
  // Body bytes of #current still to come.
  #remaining = 0;
  // Set once an impossible header was seen; from then on nothing is parsed.
  #invalid = false;

  /** Whether the parser has given up on this stream. */
  get invalid(): boolean {
    return this.#invalid;
  }

  /** Reads one chunk and returns the records it starts or continues, in order. */
  feed(chunk: Buffer): TlsRecordEvent[] {
    const events: TlsRecordEvent[] = [];
    if (this.#invalid) return events;
    let offset = 0;
    if (this.#current !== null && this.#remaining > 0 && chunk.length > 0) {
      const bodyBytes = Math.min(this.#remaining, chunk.length);
      this.#remaining -= bodyBytes;
      offset = bodyBytes;
      events.push({ kind: 'continuation', header: this.#current, bodyBytes, remaining: this.#remaining });
    }
    while (offset < chunk.length) {
      const need = TLS_RECORD_HEADER_LENGTH - this.#partialHeader.length;
      const take = chunk.subarray(offset, offset + need);
      offset += take.length;
      const headerBytes = this.#partialHeader.length === 0 ? take : Buffer.concat([this.#partialHeader, take]);
      if (headerBytes.length < TLS_RECORD_HEADER_LENGTH) {
        // Check what there is already, so that a plaintext stream is caught at its first byte.
        if (!plausibleHeaderPrefix(headerBytes)) return this.#giveUp(events, headerBytes);
        this.#partialHeader = Buffer.from(headerBytes);
        break;
      }
      this.#partialHeader = Buffer.alloc(0);
      const header = decodeTlsRecordHeader(headerBytes);
      if (header === null) return this.#giveUp(events, headerBytes);
      const bodyBytes = Math.min(header.length, chunk.length - offset);
      offset += bodyBytes;
      this.#current = header;
      this.#remaining = header.length - bodyBytes;
      events.push({ kind: 'record', header, bodyBytes });
    }
    return events;
  }

  #giveUp(events: TlsRecordEvent[], bytes: Buffer): TlsRecordEvent[] {
    this.#invalid = true;
    this.#current = null;
    this.#partialHeader = Buffer.alloc(0);
    events.push({ kind: 'invalid', bytes: Buffer.from(bytes) });
    return events;
  }
}

/** Decodes a 5-byte record header, or returns null if the bytes cannot be one. */
export function decodeTlsRecordHeader(bytes: Buffer): TlsRecordHeader | null {
  if (bytes.length < TLS_RECORD_HEADER_LENGTH || !plausibleHeaderPrefix(bytes)) return null;
  const type = bytes[0]!;
  const version = bytes.readUInt16BE(1);
  const length = bytes.readUInt16BE(3);
  if (length > MAX_RECORD_LENGTH) return null;
  return { type, typeName: TYPE_NAMES[type]!, version, versionName: VERSION_NAMES[version]!, length };
}

/**
 * Whether a stream whose first bytes are `bytes` looks like TLS: a known
 * record type, then major version 3 and a known minor version, as far as the
 * bytes go. Used to decide `tls: 'auto'` from the first bytes seen.
 */
export function looksLikeTls(bytes: Buffer): boolean {
  return bytes.length > 0 && plausibleHeaderPrefix(bytes.subarray(0, 3));
}

/**
 * Whether `bytes` begin with a whole, valid header of a TLS handshake record:
 * how a stream that was plaintext shows that TLS has started on it
 * (STARTTLS). Stricter than {@link looksLikeTls}, since it is asked of
 * every chunk of a plaintext stream.
 */
export function startsTlsHandshake(bytes: Buffer): boolean {
  const header = decodeTlsRecordHeader(bytes);
  return header !== null && header.typeName === 'handshake' && header.length >= 4;
}

function plausibleHeaderPrefix(bytes: Buffer): boolean {
  if (bytes.length >= 1 && TYPE_NAMES[bytes[0]!] === undefined) return false;
  if (bytes.length >= 2 && bytes[1] !== 3) return false;
  if (bytes.length >= 3 && bytes[2]! > 4) return false;
  return true;
}

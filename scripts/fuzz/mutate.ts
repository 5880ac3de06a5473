// Mutations of a TLS byte stream, for the fuzzer: each takes the records of
// one direction of a real session and returns bytes that are wrong in one
// particular way. Records are parsed by their 5-byte header (type, version,
// length); bytes that do not parse are kept as a last "record".
import { Random } from '../../lib/testing/random.js';

/** One TLS record as it was on the wire, header included. */
export type TlsRecord = Buffer;

/** Splits a TLS byte stream into records; a trailing partial record is kept whole. */
export function splitRecords(stream: Buffer): TlsRecord[] {
  const records: TlsRecord[] = [];
  let at = 0;
  while (at + 5 <= stream.length) {
    const length = stream.readUInt16BE(at + 3);
    const end = Math.min(stream.length, at + 5 + length);
    records.push(stream.subarray(at, end));
    at = end;
  }
  if (at < stream.length) records.push(stream.subarray(at));
  return records;
}

/** The kinds of mutation, each a way a peer or the network can get TLS wrong. */
export const MUTATIONS = {
  /** A few bits flipped anywhere. */
  bitFlip(records: TlsRecord[], random: Random): Buffer[] {
    const stream = Buffer.from(Buffer.concat(records));
    const flips = random.int(1, 8);
    for (let i = 0; i < flips && stream.length > 0; i++) {
      const at = random.int(0, stream.length - 1);
      stream[at] = stream[at]! ^ (1 << random.int(0, 7));
    }
    return [stream];
  },
  /** The stream cut at a random point (the rest never comes). */
  truncate(records: TlsRecord[], random: Random): Buffer[] {
    const stream = Buffer.concat(records);
    return [stream.subarray(0, random.int(0, Math.max(0, stream.length - 1)))];
  },
  /** One record's length field made wrong: off by one, zero, huge, or random. */
  lengthField(records: TlsRecord[], random: Random): Buffer[] {
    return mutateOne(records, random, (record) => {
      if (record.length < 5) return record;
      const copy = Buffer.from(record);
      const length = copy.readUInt16BE(3);
      const choices = [length + 1, Math.max(0, length - 1), 0, 0xffff, 16384 + 2048 + 1, random.int(0, 0xffff)];
      copy.writeUInt16BE(choices[random.int(0, choices.length - 1)]! & 0xffff, 3);
      return copy;
    });
  },
  /** One record's content type changed (to another valid type or any byte). */
  recordType(records: TlsRecord[], random: Random): Buffer[] {
    return mutateOne(records, random, (record) => {
      const copy = Buffer.from(record);
      const types = [20, 21, 22, 23, 24, random.int(0, 255)];
      copy[0] = types[random.int(0, types.length - 1)]!;
      return copy;
    });
  },
  /** One record's protocol version changed. */
  version(records: TlsRecord[], random: Random): Buffer[] {
    return mutateOne(records, random, (record) => {
      if (record.length < 3) return record;
      const copy = Buffer.from(record);
      const versions = [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f1c, random.int(0, 0xffff)];
      copy.writeUInt16BE(versions[random.int(0, versions.length - 1)]!, 1);
      return copy;
    });
  },
  /** A handshake message's type or length changed inside its record. */
  handshakeHeader(records: TlsRecord[], random: Random): Buffer[] {
    const handshakes = records.map((r, i) => [r, i] as const).filter(([r]) => r[0] === 22 && r.length >= 9);
    if (handshakes.length === 0) return MUTATIONS.bitFlip(records, random);
    const [record, index] = handshakes[random.int(0, handshakes.length - 1)]!;
    const copy = Buffer.from(record);
    if (random.next() < 0.5) copy[5] = random.int(0, 255);
    else copy.writeUIntBE(random.int(0, 0xffffff), 6, 3);
    return [...records.slice(0, index), copy, ...records.slice(index + 1)];
  },
  /** One record sent twice. */
  repeat(records: TlsRecord[], random: Random): Buffer[] {
    const i = random.int(0, records.length - 1);
    return [...records.slice(0, i + 1), records[i]!, ...records.slice(i + 1)];
  },
  /** Two records swapped. */
  reorder(records: TlsRecord[], random: Random): Buffer[] {
    if (records.length < 2) return MUTATIONS.repeat(records, random);
    const copy = [...records];
    const i = random.int(0, copy.length - 2);
    const j = random.int(i + 1, copy.length - 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    return copy;
  },
  /** A record past the 2^14 + 2048 limit, header and body, put in somewhere. */
  oversized(records: TlsRecord[], random: Random): Buffer[] {
    const length = random.int(16384 + 2049, 0xffff);
    const header = Buffer.from([[22, 23, 21][random.int(0, 2)]!, 3, 3, length >> 8, length & 0xff]);
    const record = Buffer.concat([header, random.bytes(length)]);
    const i = random.int(0, records.length);
    return [...records.slice(0, i), record, ...records.slice(i)];
  },
  /** Random bytes put in between records. */
  garbage(records: TlsRecord[], random: Random): Buffer[] {
    const i = random.int(0, records.length);
    return [...records.slice(0, i), random.bytes(random.int(1, 64)), ...records.slice(i)];
  },
} satisfies Record<string, (records: TlsRecord[], random: Random) => Buffer[]>;

/** The name of a mutation. */
export type MutationName = keyof typeof MUTATIONS;

/** Applies one or two seeded mutations and returns the chunks to feed in, cut at random. */
export function mutate(stream: Buffer, random: Random): { chunks: Buffer[]; applied: MutationName[] } {
  const names = Object.keys(MUTATIONS) as MutationName[];
  const applied: MutationName[] = [];
  let records = splitRecords(stream);
  if (records.length === 0) records = [Buffer.alloc(0)];
  const rounds = random.next() < 0.8 ? 1 : 2;
  for (let i = 0; i < rounds; i++) {
    const name = names[random.int(0, names.length - 1)]!;
    applied.push(name);
    records = splitRecords(Buffer.concat(MUTATIONS[name](records, random)));
    if (records.length === 0) records = [Buffer.alloc(0)];
  }
  const bytes = Buffer.concat(records);
  // Delivered in random pieces, so partial headers and records are exercised too.
  const chunks = random.next() < 0.5 ? records.filter((r) => r.length > 0) : random.split(bytes, 1, 2048);
  return { chunks, applied };
}

function mutateOne(records: TlsRecord[], random: Random, change: (record: TlsRecord) => TlsRecord): Buffer[] {
  const i = random.int(0, records.length - 1);
  return [...records.slice(0, i), change(records[i]!), ...records.slice(i + 1)];
}

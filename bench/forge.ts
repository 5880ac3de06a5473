// Rows 12 and 13 of the issue: the pure-JavaScript forge engine through
// wirestack against node-forge driven directly, and against the node engine.
// All three run client and server in memory (wirestack over duplexPair), so
// the rows compare TLS work and layering, not sockets.
import { randomBytes } from 'node:crypto';
import { type Connection, type Filter, duplexPair, wrap } from './wirestack.js';
import { benchCertificates, benchRsaCertificates } from './certs.js';
import { forgeDirectBulk } from './forge-direct.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, type Sample, type Timing, cpuNote, formatBytes, interleaved, rate, throughputRow, unavailable } from './harness.js';
import { bulk, destroyAll } from './transfer.js';
import { NO_TLS, type TlsFilters, tlsFilters, whenSecured } from './wirestack-tls.js';

const ROW_DIRECT = 'forge engine through wirestack (vs node-forge driven directly)';
const ROW_ENGINES = 'forge engine (vs node engine), both through wirestack';
const WRITE_SIZE = 64 * 1024;

/** The forge engine's client and server filters, or the reason they cannot be made here. */
export function forgeFilters(t: TlsFilters): { client: Filter; server: Filter } | string {
  const { key, cert, ca } = benchRsaCertificates();
  try {
    return {
      client: t.client({ engine: 'forge', ca, servername: 'localhost', minVersion: 'TLSv1' }),
      server: t.server({ engine: 'forge', key, cert, minVersion: 'TLSv1' }),
    };
  } catch (err) {
    return `the TLS filter has no forge engine here (${(err as Error).message})`;
  }
}

// A bulk sample through a wirestack pair over duplexPair; handshake untimed.
function pairSample(client: Filter, server: Filter, bytes: number, pattern: Buffer) {
  return async (): Promise<Timing> => {
    const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
    const c = wrap(a, client, { role: 'client', remote: { host: 'localhost' } });
    const s = wrap(b, server, { role: 'server' });
    try {
      await Promise.all([whenSecured(c as Connection), whenSecured(s as Connection)]);
      return await bulk(c, s, bytes, WRITE_SIZE, pattern);
    } finally {
      await destroyAll(c, s);
    }
  };
}

export const forgeGroup: Group = {
  name: 'forge',
  rows: ['forge-direct', 'forge-engines'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const t = tlsFilters();
    const f = t ? forgeFilters(t) : NO_TLS;
    if (typeof f === 'string') {
      return [
        ...(selected.has('forge-direct') ? [unavailable('forge', ROW_DIRECT, '≥ 0.90', f, t ? 'forge' : 'tls')] : []),
        ...(selected.has('forge-engines') ? [unavailable('forge', ROW_ENGINES, 'reported', f, t ? 'forge' : 'tls')] : []),
      ];
    }
    // node-forge moves about 10 MB/s here: a sixteenth of --size per sample keeps the row to seconds.
    const bytes = Math.max(64 * 1024, Math.round(opts.size / 16));
    const pattern = randomBytes(1 << 20);
    const { key, cert, ca } = benchCertificates();
    const variants: Record<string, Sample> = { forgeWirestack: pairSample(f.client, f.server, bytes, pattern) };
    if (selected.has('forge-direct')) variants['forgeDirect'] = () => forgeDirectBulk(bytes, WRITE_SIZE, pattern);
    if (selected.has('forge-engines')) {
      variants['nodeEngine'] = pairSample(t!.client({ ca, servername: 'localhost' }), t!.server({ key, cert }), bytes, pattern);
    }
    const cpu: Partial<Record<string, number>> = {};
    const m = await interleaved(variants, opts.samples, true, cpu);
    const rows: Row[] = [];
    const size = `${formatBytes(bytes)} per sample in ${formatBytes(WRITE_SIZE)} writes, client to server in memory`;
    if (m['forgeDirect'] !== undefined) {
      rows.push(throughputRow('forge', ROW_DIRECT, bytes, m['forgeDirect'], m['forgeWirestack']!, 0.9,
        `${size}; baseline: forge.tls client and server wired to each other's process(), no streams; TLS 1.1 (forge's best), RSA 2048` + cpuNote(cpu['forgeDirect'], cpu['forgeWirestack'])));
    }
    if (m['nodeEngine'] !== undefined) {
      const ratio = m['nodeEngine'] / m['forgeWirestack']!;
      rows.push({
        group: 'forge',
        row: ROW_ENGINES,
        baseline: rate(bytes, m['nodeEngine']),
        wirestack: rate(bytes, m['forgeWirestack']!),
        ratio,
        target: 'reported',
        met: null,
        note: `${size}, both over duplexPair; baseline: the node engine with default options (TLS 1.3, ECDSA); forge: TLS 1.1 with RSA key exchange`,
      });
    }
    return rows;
  },
};

// The pure-JavaScript forge engine through wirestack against node-forge
// driven directly, and against the node engine. All three run client and
// server in memory (wirestack over duplexPair), so the rows compare TLS work
// and layering, not sockets; each in a measuring process of its own.
import { randomBytes } from 'node:crypto';
import { type Connection, type Filter, duplexPair, wrap } from './wirestack.js';
import { benchCertificates, benchRsaCertificates } from './certs.js';
import { forgeDirectBulk } from './forge-direct.js';
import type { Group } from './group.js';
import { type BenchOptions, type Row, formatBytes, interleaved, median, paired, pairedRow, quiesce, rate, speedup, throughputRow, timed, TODAY, unavailable } from './harness.js';
import { type Isolated, type Variant, isolate, isolateAll } from './isolated.js';
import { bulk, destroyAll } from './transfer.js';
import { NO_TLS, type TlsFilters, tlsFilters, whenSecured } from './wirestack-tls.js';

const ROW_DIRECT = 'forge engine through wirestack (vs node-forge driven directly)';
const ROW_ENGINES = 'forge engine (vs node engine), both through wirestack';
const WRITE_SIZE = 64 * 1024;
/** "No worse than today": the ratio main measured before issue 14. */
const TARGET_DIRECT = 0.97;

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

/** What the forge variants are told: bytes per sample; `engine` for the wirestack ones. */
interface ForgeArgs {
  readonly bytes: number;
  readonly engine?: 'forge' | 'node';
  readonly [key: string]: unknown;
}

// Samples of bulk transfers through a wirestack pair over duplexPair; handshake untimed.
function pairVariant(args: ForgeArgs): Promise<Variant> {
  const t = tlsFilters();
  if (!t) throw new Error(NO_TLS);
  let filters: { client: Filter; server: Filter } | string;
  if (args.engine === 'forge') {
    filters = forgeFilters(t);
  } else {
    const { key, cert, ca } = benchCertificates();
    filters = { client: t.client({ ca, servername: 'localhost' }), server: t.server({ key, cert }) };
  }
  if (typeof filters === 'string') throw new Error(filters);
  const { client, server } = filters;
  return Promise.resolve({
    async sample() {
      const [a, b] = duplexPair({ highWaterMark: 64 * 1024 });
      const c = wrap(a, client, { role: 'client', remote: { host: 'localhost' } });
      const s = wrap(b, server, { role: 'server' });
      try {
        await Promise.all([whenSecured(c as Connection), whenSecured(s as Connection)]);
        await quiesce();
        return timed(await bulk(c, s, args.bytes, WRITE_SIZE));
      } finally {
        await destroyAll(c, s);
      }
    },
    close: async () => {},
  });
}

/** The variants, each built in a measuring process of its own. */
export const variants = {
  wirestack: pairVariant,
  direct: (args: ForgeArgs): Promise<Variant> => {
    const source = randomBytes(WRITE_SIZE);
    return Promise.resolve({ sample: async () => timed(await forgeDirectBulk(args.bytes, WRITE_SIZE, source)), close: async () => {} });
  },
};

export const forgeGroup: Group = {
  name: 'forge',
  rows: ['forge-direct', 'forge-engines'],
  async run(opts: BenchOptions, selected: ReadonlySet<string>): Promise<Row[]> {
    const t = tlsFilters();
    const f = t ? forgeFilters(t) : NO_TLS;
    if (typeof f === 'string') {
      return [
        ...(selected.has('forge-direct') ? [unavailable('forge', ROW_DIRECT, `≥ ${TARGET_DIRECT.toFixed(2)}`, f, t ? 'forge' : 'tls')] : []),
        ...(selected.has('forge-engines') ? [unavailable('forge', ROW_ENGINES, 'reported', f, t ? 'forge' : 'tls')] : []),
      ];
    }
    // node-forge moves about 10 MB/s here: a sixteenth of --size per sample keeps the row to seconds.
    const bytes = Math.max(64 * 1024, Math.round(opts.size / 16));
    const here = import.meta.url;
    const starts: Record<string, () => Promise<Isolated>> = { forge: () => isolate(here, variants, 'wirestack', { bytes, engine: 'forge' }, opts) };
    if (selected.has('forge-direct')) starts['direct'] = () => isolate(here, variants, 'direct', { bytes }, opts);
    if (selected.has('forge-engines')) starts['node'] = () => isolate(here, variants, 'wirestack', { bytes, engine: 'node' }, opts);
    const isolated = await isolateAll(starts);
    try {
      const m = await interleaved(isolated.samples, opts.samples);
      const rows: Row[] = [];
      const size = `${formatBytes(bytes)} per sample in ${formatBytes(WRITE_SIZE)} writes, client to server in memory`;
      if (m['direct']) {
        rows.push(throughputRow('forge', ROW_DIRECT, bytes, m['direct'], m['forge']!, TARGET_DIRECT,
          `${size}; baseline: forge.tls client and server wired to each other's process(), no streams; TLS 1.1 (forge's best), RSA 2048; ` +
          `target: no worse than main before issue 14 (${TARGET_DIRECT.toFixed(2)}, ${TODAY})`));
      }
      if (m['node']) {
        rows.push(pairedRow({
          group: 'forge',
          row: ROW_ENGINES,
          baseline: rate(bytes, median(m['node'].values)),
          wirestack: rate(bytes, median(m['forge']!.values)),
          ratios: paired(m['node'], m['forge']!, speedup),
          target: 'reported',
          meets: null,
          note: `${size}, both over duplexPair; baseline: the node engine with default options (TLS 1.3, ECDSA); forge: TLS 1.1 with RSA key exchange`,
        }));
      }
      return rows;
    } finally {
      await isolated.close();
    }
  },
};

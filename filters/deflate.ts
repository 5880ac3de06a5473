import { WirestackError } from '../lib/errors.js';
import type { Filter } from '../lib/filter.js';
import { checkAlgorithm, DeflateLayer } from './deflate-layer.js';

/** Options for {@link deflate}. */
export interface DeflateOptions {
  /** The layer's name (default `'deflate'`). */
  name?: string;
  /** `'deflate'` (raw DEFLATE, RFC 1951; the default) or `'brotli'` (RFC 7932). */
  algorithm?: 'deflate' | 'brotli';
  /** Compression level: zlib 0–9 (default 6) or brotli quality 0–11 (default 4). */
  level?: number;
  /**
   * Most bytes one chunk read from below may inflate to (default 16 MiB);
   * past it the connection fails with `ERR_WIRESTACK_INFLATE_LIMIT`.
   */
  maxInflatedBytes?: number;
  /**
   * Most the inflated bytes may outnumber the compressed bytes received,
   * over the whole connection (default 1000). Checked once more than 1 MiB
   * has been inflated, so short messages never trip it. Raw DEFLATE of long
   * runs of one byte reaches about 1030:1; raise this for such data.
   */
  maxRatio?: number;
}

const DEFAULT_MAX_INFLATED_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_RATIO = 1000;

/**
 * A filter that compresses what is written and inflates what is read.
 * Every write (or corked batch of writes) is flushed as one block, so a
 * request/response protocol never waits on bytes held in the compressor;
 * `end()` sends the final block. Inflation is bounded per chunk and by
 * ratio, so a decompression bomb fails fast with
 * `ERR_WIRESTACK_INFLATE_LIMIT` and corrupt input with
 * `ERR_WIRESTACK_INFLATE`.
 *
 * Do not compress secrets together with data an attacker chooses, then
 * encrypt: the compressed length leaks the secret (CRIME, BREACH).
 *
 * @example
 * ```ts
 * const conn = await connect({ host, port }, [tls.client({ ca }), deflate()]);
 * ```
 */
export function deflate(options: DeflateOptions = {}): Filter {
  const name = options.name ?? 'deflate';
  const settings = resolve(options);
  return { name, attach: (lower) => new DeflateLayer(lower, name, settings) };
}

/** The options resolved, as the layer uses them. @internal */
export interface DeflateSettings {
  readonly algorithm: 'deflate' | 'brotli';
  readonly level: number | undefined;
  readonly maxInflatedBytes: number;
  readonly maxRatio: number;
}

function resolve(options: DeflateOptions): DeflateSettings {
  const algorithm = options.algorithm ?? 'deflate';
  if (algorithm !== 'deflate' && algorithm !== 'brotli') {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `deflate: unknown algorithm ${String(algorithm)}`);
  }
  checkAlgorithm(algorithm);
  const maxInflatedBytes = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const maxRatio = options.maxRatio ?? DEFAULT_MAX_RATIO;
  if (!(maxInflatedBytes > 0) || !(maxRatio > 0)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', 'deflate: maxInflatedBytes and maxRatio must be > 0');
  }
  const maxLevel = algorithm === 'brotli' ? 11 : 9;
  if (options.level !== undefined && !(Number.isInteger(options.level) && options.level >= 0 && options.level <= maxLevel)) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `deflate: level must be a whole number from 0 to ${maxLevel} for ${algorithm}`);
  }
  return { algorithm, level: options.level, maxInflatedBytes, maxRatio };
}

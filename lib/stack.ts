import type { Filter, LayerContext } from './filter.js';
import type { Duplex } from './stream.js';

/**
 * An ordered list of filters, lowest first. A stack is itself a filter, so
 * stacks nest: `stack([tcpLog, stack([tls.client(), deflate()])])`.
 */
export class Stack implements Filter {
  readonly name: string;
  readonly filters: readonly Filter[];

  constructor(filters: readonly Filter[], name = 'stack') {
    this.filters = filters;
    this.name = name;
  }

  attach(lower: Duplex, ctx: LayerContext): Duplex {
    let top = lower;
    for (const filter of this.filters) top = applyFilter(filter, top, ctx);
    return top;
  }
}

/**
 * Makes a stack of `filters`, lowest first.
 *
 * @example
 * ```ts
 * const secureLogged = stack([log({ format: 'summary' }), tls.client({ ca })]);
 * const conn = await connect({ host: 'localhost', port: 8443 }, secureLogged);
 * ```
 */
export function stack(filters: readonly Filter[], name?: string): Stack {
  return new Stack(filters, name);
}

/** Applies one filter (or a nested stack) over `lower` and records each layer it makes. */
export function applyFilter(filter: Filter, lower: Duplex, ctx: LayerContext): Duplex {
  if (filter instanceof Stack) return filter.attach(lower, ctx);
  const layer = filter.attach(lower, ctx);
  ctx.record(filter.name, layer);
  return layer;
}

/** Normalises what the API accepts for "the filters": one filter, a list, or nothing. */
export function toStack(filters: Filter | readonly Filter[] | undefined): Stack {
  if (filters === undefined) return new Stack([]);
  if (filters instanceof Stack) return filters;
  if (Array.isArray(filters)) return new Stack(filters as readonly Filter[]);
  return new Stack([filters as Filter]);
}

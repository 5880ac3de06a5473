import { WirestackError } from './errors.js';
import type { Filter, LayerContext } from './filter.js';
import { type Layer, isLayer } from './layer.js';
import { Pipeline } from './pipeline.js';
import type { Duplex } from './stream.js';

/**
 * An ordered list of filters, lowest first. A stack is itself a filter, so
 * stacks nest: `stack([tcpLog, stack([tls.client(), deflate()])])`.
 */
export class Stack implements Filter {
  readonly name: string;
  /** The filters, lowest first, as given. */
  readonly filters: readonly Filter[];

  constructor(filters: readonly Filter[], name = 'stack') {
    this.filters = filters;
    this.name = name;
  }

  attach(lower: Duplex | Layer, ctx: LayerContext): Duplex | Layer {
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

/**
 * Applies one filter (or a nested stack) on top of `lower`, the top of the
 * stack being built, and records the layer it makes. A filter's attach()
 * always gets a stream: the one below, or (above a layer) a stream standing
 * for the layers below, which becomes real only if the filter returns a
 * stream of its own rather than a {@link Layer}.
 */
export function applyFilter(filter: Filter, lower: Duplex | Layer, ctx: LayerContext): Duplex | Layer {
  if (filter instanceof Stack) return filter.attach(lower, ctx);
  const pipeline = Pipeline.building;
  if (pipeline === undefined) {
    throw new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', `${filter.name}: filters are applied by wrap(), connect(), listen() and push()`);
  }
  const given = isLayer(lower) ? pipeline.lowerForNextFilter() : lower;
  const made = filter.attach(given, ctx);
  // A filter that changes nothing may hand back what it was given.
  if (made === given) return lower;
  if (!isLayer(made)) pipeline.segmentOver(made, filter.name);
  ctx.record(filter.name, made);
  return made;
}

/** Normalises what the API accepts for "the filters": one filter, a list, or nothing. */
export function toStack(filters: Filter | readonly Filter[] | undefined): Stack {
  if (filters === undefined) return new Stack([]);
  if (filters instanceof Stack) return filters;
  if (Array.isArray(filters)) return new Stack(filters as readonly Filter[]);
  return new Stack([filters as Filter]);
}

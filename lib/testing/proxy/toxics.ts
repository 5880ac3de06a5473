/**
 * The faults a {@link Proxy} applies, in Toxiproxy's vocabulary: a "toxic"
 * has a name, a type, a stream (`upstream`: client → target; `downstream`:
 * target → client), a toxicity (the chance that it applies to a
 * connection) and attributes. The types and attribute names are
 * Toxiproxy's (https://github.com/Shopify/toxiproxy#toxics), so that its
 * clients drive a wirestack proxy unchanged; three more count bytes, as
 * the kit's `fault()` and `fragment()` do. This module is the vocabulary:
 * names, attributes, defaults and validation. `stages.ts` makes them act.
 */
import { WirestackError } from '../../index.js';

/** A direction through the proxy: `upstream` is client → target, `downstream` is target → client. */
export type Stream = 'upstream' | 'downstream';

/** An attribute's value: a number, or for `fragment` a list of sizes. */
export type AttributeValue = number | readonly number[];

/** The toxic types, each with its attributes and their defaults (Toxiproxy's zero values). */
export const TOXIC_TYPES = {
  /** Adds `latency` ms to every chunk, ± up to `jitter` ms (order is kept). */
  latency: { latency: 0, jitter: 0 },
  /** At most `rate` KB/s (1 KB = 1000 bytes). */
  bandwidth: { rate: 0 },
  /** Holds the end of the stream back for `delay` ms. */
  slow_close: { delay: 0 },
  /** Lets nothing through (the bytes are dropped); after `timeout` ms (0: never) closes the connection. */
  timeout: { timeout: 0 },
  /** Drops what comes, then `timeout` ms after the first chunk resets the connection (TCP RST). */
  reset_peer: { timeout: 0 },
  /** Cuts chunks into slices of about `average_size` bytes (± `size_variation`), `delay` µs apart. */
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
  /** Closes the connection once `bytes` bytes have passed (counted from when the toxic was added). */
  limit_data: { bytes: 0 },
  /** wirestack: cuts the stream into pieces of these sizes, in turn, each its own write. */
  fragment: { sizes: [1] as readonly number[] },
  /** wirestack: lets `bytes` bytes pass, then resets the connection (TCP RST to both ends). */
  reset_after: { bytes: 0 },
  /** wirestack: lets `bytes` bytes pass, then holds the rest, with no end (a hung peer); removing it lets them go. */
  stall_after: { bytes: 0 },
} as const satisfies Record<string, Record<string, AttributeValue>>;

/** The name of a toxic type. */
export type ToxicType = keyof typeof TOXIC_TYPES;

/** One toxic, as the proxy keeps it and the control API shows it. */
export interface Toxic {
  /** Unique per proxy; `TYPE_STREAM` unless given (`latency_downstream`). */
  readonly name: string;
  /** What it does: one of {@link TOXIC_TYPES}. */
  readonly type: ToxicType;
  /** The direction it acts on. */
  readonly stream: Stream;
  /** The chance (0–1) that the toxic applies to a connection, drawn per connection when it starts to act there. */
  readonly toxicity: number;
  /** Every attribute of its type, those not given at their defaults. */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** What is given to add a toxic: all but `type` may be left out. */
export interface ToxicSpec {
  /** Default: `TYPE_STREAM`, as Toxiproxy names it. */
  name?: string;
  /** One of {@link TOXIC_TYPES}; another string is refused, with the list. */
  type: ToxicType | string;
  /** Default `downstream`, as in Toxiproxy. */
  stream?: Stream | string;
  /** Default 1. */
  toxicity?: number;
  /** Attributes of the type (the others keep their defaults); an unknown one or a wrong kind is refused. */
  attributes?: Record<string, unknown>;
}

/** A mistake in a toxic: the control API answers it with status 400. */
export function toxicError(message: string): WirestackError {
  return new WirestackError('ERR_WIRESTACK_INVALID_ARGUMENT', message, { layer: 'proxy' });
}

/** Checks a spec and fills in the defaults. */
export function makeToxic(spec: ToxicSpec): Toxic {
  if (typeof spec !== 'object' || spec === null) throw toxicError('a toxic must be an object');
  const type = spec.type;
  if (typeof type !== 'string' || !(type in TOXIC_TYPES)) {
    throw toxicError(`invalid toxic type${typeof type === 'string' ? ` "${type}"` : ''} (types: ${Object.keys(TOXIC_TYPES).join(', ')})`);
  }
  const stream = (spec.stream ?? 'downstream').toString().toLowerCase();
  if (stream !== 'upstream' && stream !== 'downstream') throw toxicError('stream was invalid, can be either upstream or downstream');
  const name = spec.name ?? `${type}_${stream}`;
  if (typeof name !== 'string' || name === '') throw toxicError('a toxic\'s name must be a non-empty string');
  return {
    name,
    type: type as ToxicType,
    stream,
    toxicity: checkToxicity(spec.toxicity ?? 1),
    attributes: checkAttributes(type as ToxicType, spec.attributes ?? {}, TOXIC_TYPES[type as ToxicType]),
  };
}

/** `toxic` with some attributes (and the toxicity) changed; the others keep their values. */
export function updateToxic(toxic: Toxic, attributes: Record<string, unknown> | undefined, toxicity: number | undefined): Toxic {
  return {
    ...toxic,
    toxicity: toxicity === undefined ? toxic.toxicity : checkToxicity(toxicity),
    attributes: checkAttributes(toxic.type, attributes ?? {}, toxic.attributes),
  };
}

function checkToxicity(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw toxicError(`toxicity must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  return value;
}

// Each attribute given must be one the type has, of its kind; the rest keep `base`'s values.
function checkAttributes(type: ToxicType, given: Record<string, unknown>, base: Readonly<Record<string, AttributeValue>>): Record<string, AttributeValue> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw toxicError('attributes must be an object');
  const known = TOXIC_TYPES[type] as Record<string, AttributeValue>;
  const result: Record<string, AttributeValue> = { ...base };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in known)) {
      throw toxicError(`${type} has no attribute "${key}" (its attributes: ${Object.keys(known).join(', ')})`);
    }
    result[key] = checkValue(type, key, value);
  }
  return result;
}

function checkValue(type: ToxicType, key: string, value: unknown): AttributeValue {
  if (type === 'fragment') {
    if (!Array.isArray(value) || value.length === 0 || !value.every((n) => Number.isInteger(n) && n >= 1)) {
      throw toxicError(`attributes.sizes must be a list of whole numbers ≥ 1, got ${JSON.stringify(value)}`);
    }
    return [...value] as number[];
  }
  // Toxiproxy's rate is a whole number of KB/s; a byte rate that is not a multiple of 1000 is a fraction of one.
  const whole = !(type === 'bandwidth' && key === 'rate');
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
    throw toxicError(`attributes.${key} must be a ${whole ? 'whole ' : ''}number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

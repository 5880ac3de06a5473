/**
 * A relay for testing real clients against real servers under faults: it
 * listens, connects each client it accepts to the target, and passes the
 * bytes both ways through the faults ("toxics") set at the time, which can
 * change while connections are open. Each side has a stack of its own
 * (TLS toward the client, TLS toward the target, logs, …), so the faults
 * act on what the proxy relays between the two stacks: plaintext where it
 * terminates TLS, the raw bytes where it does not.
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import {
  connect, listen, WirestackError,
  type Connection, type Filter, type Listener, type ListenerAddress, type Target,
} from '../../index.js';
import { Random } from '../random.js';
import { ToxicLink } from './link.js';
import { makeToxic, toxicError, updateToxic, type Stream, type Toxic, type ToxicSpec } from './toxics.js';

/** The faults {@link Proxy.set} takes, in the words of `wirestack proxy`'s flags. */
export interface Faults {
  /** Latency in ms, or with jitter (± up to `jitter` ms; order is kept): Toxiproxy's `latency`. */
  delay?: number | {
    /** Latency in ms. */
    ms: number;
    /** Up to this many ms more or less (default 0). */
    jitter?: number;
  };
  /** At most this many bytes per second: Toxiproxy's `bandwidth`. */
  throttle?: number;
  /** Cut into pieces of this size, or these sizes in turn, each its own write. */
  fragment?: number | readonly number[];
  /** Reset the connection (TCP RST to both ends) once this many bytes have passed. */
  resetAfter?: number;
  /** Hold everything after this many bytes, with no end, until the fault is removed. */
  stallAfter?: number;
  /** Close the connection once this many bytes have passed: Toxiproxy's `limit_data`. */
  limit?: number;
}

/** Which way a fault acts: `upstream` (client → target), `downstream` (target → client), or `both`. */
export type FaultDirection = Stream | 'both';

/** Options for {@link proxy}. */
export interface ProxyOptions {
  /** Where to listen: `{ host, port }` (port 0: any free one) or `{ path }`. */
  listen: Target;
  /** Where each client is relayed to. */
  target: Target;
  /** The stack toward the client, lowest first (`[tls.server(…)]` to terminate TLS). */
  downstream?: Filter | readonly Filter[];
  /** The stack toward the target, lowest first (`[tls.client(…)]`), or one per client. */
  upstream?: Filter | readonly Filter[] | ((client: Connection) => Filter | readonly Filter[]);
  /** Faults from the start, both ways (see {@link Proxy.set}). */
  faults?: Faults;
  /** The name the control API knows it by (default `'wirestack'`). */
  name?: string;
  /** Start listening (default true); `false` makes a disabled proxy, as Toxiproxy's `enabled: false`. */
  enabled?: boolean;
  /** Milliseconds to wait for the target (default 10 000). */
  connectTimeout?: number;
  /** Seed of the jitter, slice sizes and toxicity draws (default: random); connection N uses seed + N. */
  seed?: number;
}

/** One client relayed to the target. */
export interface ProxiedConnection {
  /** 1 for the first connection the proxy accepted, and so on. */
  readonly id: number;
  /** The client's side (the downstream stack). */
  readonly downstream: Connection;
  /** The target's side (the upstream stack), once connected. */
  readonly upstream: Connection | undefined;
  /** Bytes relayed each way so far (after the faults). */
  readonly bytes: {
    /** Client → target. */
    readonly upstream: number;
    /** Target → client. */
    readonly downstream: number;
  };
  /** Resolves when both sides have closed, however they ended. */
  readonly closed: Promise<void>;
  /** The fault that closed or reset it on purpose (`limit_data_downstream: 100 bytes passed`), if one did. */
  readonly fault: string | undefined;
}

// How long a connection closed by a fault waits for its peers' ends before it is dropped.
const CLOSE_GRACE_MS = 5_000;

const FAULT_NAMES: readonly (keyof Faults)[] = ['limit', 'resetAfter', 'stallAfter', 'throttle', 'delay', 'fragment'];

/**
 * A running proxy. Events: `'connection'` (a {@link ProxiedConnection}),
 * `'connectionError'` (a coded error, and the connection or `undefined`):
 * the target unreachable, a side that failed, a fault that reset a
 * connection on purpose, a failure of the listener itself.
 */
export class Proxy extends EventEmitter {
  /** The name the control API knows it by. */
  readonly name: string;
  readonly #options: ProxyOptions;
  #listen: Target;
  #target: Target;
  #listener: Listener | undefined;
  // Toxics in the order added; an update replaces one in its place.
  #toxics: Toxic[] = [];
  readonly #connections = new Set<Relay>();
  #count = 0;
  #closed = false;

  /** @internal Use {@link proxy}. */
  constructor(options: ProxyOptions) {
    super();
    this.#options = options;
    this.name = options.name ?? 'wirestack';
    this.#listen = options.listen;
    this.#target = options.target;
  }

  /** Whether it is listening. */
  get enabled(): boolean {
    return this.#listener !== undefined;
  }

  /** Where it listens (the port chosen, once it has listened), or would listen while disabled. */
  get listen(): Target {
    return this.#listen;
  }

  /** Where clients are relayed to. */
  get target(): Target {
    return this.#target;
  }

  /** Where it listens; throws `ERR_WIRESTACK_CLOSED` while disabled. */
  address(): ListenerAddress {
    if (!this.#listener) throw new WirestackError('ERR_WIRESTACK_CLOSED', `proxy ${this.name} is disabled`, { layer: 'proxy' });
    return this.#listener.address();
  }

  /** The connections open now. */
  get connections(): readonly ProxiedConnection[] {
    return [...this.#connections];
  }

  /** The toxics, in the order they act on each stream. */
  get toxics(): readonly Toxic[] {
    return this.#toxics;
  }

  /**
   * Sets the faults of a direction (default both): they replace every toxic
   * on it, and act on open connections at once. `set({})` clears them.
   *
   * @example
   * ```ts
   * p.set({ delay: { ms: 100, jitter: 20 } });           // both ways
   * p.set({ throttle: 10_000, limit: 4096 }, 'downstream');
   * ```
   */
  set(faults: Faults, direction: FaultDirection = 'both'): void {
    const streams: Stream[] = direction === 'both' ? ['upstream', 'downstream'] : [direction];
    if (!streams.every((s) => s === 'upstream' || s === 'downstream')) throw toxicError(`direction must be upstream, downstream or both, got "${direction}"`);
    const added = streams.flatMap((stream) => faultToxics(faults, stream));
    this.#toxics = [...this.#toxics.filter((t) => !streams.includes(t.stream)), ...added];
    this.#applyAll();
  }

  /** The toxic named `name`, if any. */
  toxic(name: string): Toxic | undefined {
    return this.#toxics.find((t) => t.name === name);
  }

  /** Adds a toxic (Toxiproxy's fields); it acts on open connections at once. */
  addToxic(spec: ToxicSpec): Toxic {
    const toxic = makeToxic(spec);
    if (this.toxic(toxic.name)) throw toxicError(`toxic already exists: ${toxic.name}`);
    this.#toxics.push(toxic);
    this.#applyAll();
    return toxic;
  }

  /** Changes a toxic's attributes (those given) and toxicity; open connections follow at once. */
  updateToxic(name: string, change: { attributes?: Record<string, unknown>; toxicity?: number }): Toxic {
    const index = this.#toxics.findIndex((t) => t.name === name);
    if (index < 0) throw toxicError(`toxic not found: ${name}`);
    const toxic = updateToxic(this.#toxics[index]!, change.attributes, change.toxicity);
    this.#toxics[index] = toxic;
    this.#applyAll();
    return toxic;
  }

  /** Removes a toxic; what it held goes on. Returns whether there was one. */
  removeToxic(name: string): boolean {
    const before = this.#toxics.length;
    this.#toxics = this.#toxics.filter((t) => t.name !== name);
    this.#applyAll();
    return this.#toxics.length < before;
  }

  /** Starts listening again, where it listened before. */
  async enable(): Promise<void> {
    if (this.#listener || this.#closed) return;
    const listener = await listen(this.#listen, this.#options.downstream, (conn) => this.#relay(conn));
    listener.on('connectionError', (err: WirestackError, conn: Connection | undefined) => {
      if (conn === undefined) this.emit('connectionError', err, undefined);
    });
    this.#listener = listener;
    const address = listener.address();
    this.#listen = 'path' in address ? { path: address.path } : { host: address.host, port: address.port };
  }

  /** Stops listening and drops every open connection (Toxiproxy's "down"). */
  async disable(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    for (const relay of this.#connections) relay.destroy();
    await listener?.close({ drain: false });
  }

  /** Listens or relays elsewhere: open connections are dropped, and it listens again if it was enabled. */
  async update(change: { listen?: Target; target?: Target }): Promise<void> {
    const wasEnabled = this.enabled;
    await this.disable();
    if (change.listen) this.#listen = change.listen;
    if (change.target) this.#target = change.target;
    if (wasEnabled) await this.enable();
  }

  /** Stops for good: no more listening, every connection dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.disable();
  }

  #applyAll(): void {
    for (const relay of this.#connections) relay.apply(this.#toxics);
  }

  async #relay(downstream: Connection): Promise<void> {
    const id = ++this.#count;
    const seed = this.#options.seed === undefined ? undefined : this.#options.seed + id;
    const relay = new Relay(id, downstream, new Random(seed), (err) => this.emit('connectionError', err, relay));
    this.#connections.add(relay);
    void relay.closed.then(() => this.#connections.delete(relay));
    this.emit('connection', relay);
    const upstreamStack = this.#options.upstream;
    const filters = typeof upstreamStack === 'function' ? upstreamStack(downstream) : upstreamStack;
    let upstream: Connection;
    try {
      upstream = await connect(this.#target, filters, { timeout: this.#options.connectTimeout ?? 10_000 });
    } catch (err) {
      relay.fail(err);
      return;
    }
    relay.start(upstream, this.#toxics);
  }
}

/** One client relayed to the target: its two connections and the two links between them. */
class Relay implements ProxiedConnection {
  upstream: Connection | undefined;
  fault: string | undefined;
  readonly closed: Promise<void>;
  #up: ToxicLink | undefined;
  #down: ToxicLink | undefined;
  // Set once the relay is being torn down (a failure, a close, a reset): later failures are its echoes.
  #over = false;
  #resolveClosed!: () => void;

  constructor(readonly id: number, readonly downstream: Connection, readonly random: Random,
    private readonly report: (err: WirestackError) => void) {
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
    downstream.on('error', (err) => this.fail(err));
    downstream.once('close', () => this.#sideClosed());
  }

  get bytes(): { upstream: number; downstream: number } {
    return { upstream: this.#up?.bytes ?? 0, downstream: this.#down?.bytes ?? 0 };
  }

  /** The target is connected: bytes start to move both ways. */
  start(upstream: Connection, toxics: readonly Toxic[]): void {
    this.upstream = upstream;
    upstream.on('error', (err) => this.fail(err));
    upstream.once('close', () => this.#sideClosed());
    if (this.#over || this.downstream.destroyed) {
      upstream.destroy();
      return;
    }
    this.#up = new ToxicLink(this.downstream, upstream, this);
    this.#down = new ToxicLink(upstream, this.downstream, this);
    this.apply(toxics);
  }

  apply(toxics: readonly Toxic[]): void {
    this.#up?.apply(toxics.filter((t) => t.stream === 'upstream'));
    this.#down?.apply(toxics.filter((t) => t.stream === 'downstream'));
  }

  /** A side failed (or the target could not be reached): reported once; a reset is passed on as a reset. */
  fail(err: unknown): void {
    if (this.#over) return;
    this.#over = true;
    const error = err instanceof WirestackError ? err : new WirestackError('ERR_WIRESTACK_LAYER', String(err), { cause: err });
    this.report(error);
    const reset = (error.cause as { code?: unknown } | undefined)?.code === 'ECONNRESET';
    for (const side of this.#sides()) {
      if (reset) resetSocket(side);
      side.destroy();
    }
    this.#stopLinks();
  }

  /**
   * Closes both sides gracefully, after what was handed on (limit_data,
   * timeout): our end goes to each peer, what they still send is dropped,
   * and each side closes once its peer has ended too, or after a grace
   * period, so that a peer's own close (its close_notify) is not met with a reset.
   */
  close(why: string): void {
    if (this.#over) return;
    this.#over = true;
    this.fault = why;
    this.#stopLinks();
    const sides = this.#sides();
    for (const side of sides) {
      side.resume();
      side.close().catch(() => {});
    }
    const timer = setTimeout(() => {
      for (const side of sides) side.destroy();
    }, CLOSE_GRACE_MS);
    timer.unref();
    void this.closed.then(() => clearTimeout(timer));
  }

  /** Resets both sides: a TCP RST to the client and to the target (reset_peer, reset_after). */
  reset(why: string): void {
    if (this.#over) return;
    this.#over = true;
    this.fault = why;
    this.report(new WirestackError('ERR_WIRESTACK_FAULT', `${why}: connection reset on purpose`, { layer: 'proxy' }));
    this.#stopLinks();
    for (const side of this.#sides()) {
      resetSocket(side);
      side.destroy();
    }
  }

  /** Drops the connection (the proxy is disabled or closed). */
  destroy(): void {
    this.#over = true;
    this.#stopLinks();
    for (const side of this.#sides()) side.destroy();
  }

  #sides(): Connection[] {
    return this.upstream ? [this.downstream, this.upstream] : [this.downstream];
  }

  #stopLinks(): void {
    this.#up?.stop();
    this.#down?.stop();
  }

  #sideClosed(): void {
    if (!this.#sides().every((side) => side.closed)) return;
    this.#stopLinks();
    this.#resolveClosed();
  }
}

// An RST rather than a FIN, where the side is a TCP socket.
function resetSocket(conn: Connection): void {
  const raw = conn.raw.stream;
  if (raw instanceof Socket && !raw.destroyed) raw.resetAndDestroy();
}

// The toxics that stand for `faults` on one stream, named as Toxiproxy names them (TYPE_STREAM).
function faultToxics(faults: Faults, stream: Stream): Toxic[] {
  if (typeof faults !== 'object' || faults === null) throw toxicError('faults must be an object');
  for (const key of Object.keys(faults)) {
    if (!FAULT_NAMES.includes(key as keyof Faults)) throw toxicError(`unknown fault "${key}" (faults: ${FAULT_NAMES.join(', ')})`);
  }
  const specs: ToxicSpec[] = [];
  if (faults.limit !== undefined) specs.push({ type: 'limit_data', attributes: { bytes: faults.limit } });
  if (faults.resetAfter !== undefined) specs.push({ type: 'reset_after', attributes: { bytes: faults.resetAfter } });
  if (faults.stallAfter !== undefined) specs.push({ type: 'stall_after', attributes: { bytes: faults.stallAfter } });
  if (faults.throttle !== undefined) {
    if (!(typeof faults.throttle === 'number' && faults.throttle > 0)) throw toxicError(`throttle must be a number of bytes per second > 0, got ${JSON.stringify(faults.throttle)}`);
    specs.push({ type: 'bandwidth', attributes: { rate: faults.throttle / 1000 } });
  }
  if (faults.delay !== undefined) {
    const { ms, jitter = 0 } = typeof faults.delay === 'number' ? { ms: faults.delay } : faults.delay;
    specs.push({ type: 'latency', attributes: { latency: ms, jitter } });
  }
  if (faults.fragment !== undefined) {
    specs.push({ type: 'fragment', attributes: { sizes: typeof faults.fragment === 'number' ? [faults.fragment] : faults.fragment } });
  }
  return specs.map((spec) => makeToxic({ ...spec, stream }));
}

/**
 * Starts a proxy: listens on `listen`, relays each client to `target`
 * through the `downstream` and `upstream` stacks and the faults set at the
 * time. Rejects with `ERR_WIRESTACK_LISTEN` if it cannot listen.
 *
 * @example
 * ```ts
 * const p = await proxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: dbPort } });
 * const { port } = p.address() as { port: number };   // point the client under test here
 * p.set({ delay: 200 }, 'downstream');                  // every answer 200 ms late, from now on
 * p.set({ resetAfter: 100 });                           // the next 100 bytes, then a reset
 * await p.disable();                                    // the database is down…
 * await p.enable();                                     // …and back
 * await p.close();
 * ```
 */
export async function proxy(options: ProxyOptions): Promise<Proxy> {
  const made = new Proxy(options);
  if (options.faults) made.set(options.faults);
  if (options.enabled ?? true) await made.enable();
  return made;
}

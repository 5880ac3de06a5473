// Variants are measured in measuring processes (bench/worker.ts), which the
// runner asks for one sample at a time. In the one process the whole run
// once shared, the variants paid for each other and for all the process had
// loaded: a wirestack sample left garbage and half-done marking that the
// next variant's clock caught, and what the whole run had loaded decided how
// often V8 collected during every sample (see the ballast in worker.ts).
// So each variant gets a process of its own ({@link isolate}), except where
// the process itself is the larger error: the same bare-socket loop runs at
// 1.0 GB/s in one process and 2.2 GB/s in the next on this kind of machine
// (where the kernel happens to place its work), so the variants a group's
// rows compare over sockets share one measuring process, ballast and all
// ({@link isolateTogether}), each sample paired with the other variants' in
// that process.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, Reading, Sample } from './harness.js';
import { certificatesEnv } from './certs.js';

/** What a measuring process builds once and then samples on request. */
export interface Variant {
  /** One sample: setup untimed, then {@link quiesce}, then the timed part. */
  sample(): Promise<Reading>;
  close(): Promise<void>;
}

/** Arguments that cross to the measuring process (structured-clone data). */
export type Args = Readonly<Record<string, unknown>>;

/** Builds a variant in the measuring process. */
export type VariantFactory<A extends Args = Args> = (args: A) => Promise<Variant>;

/** What a module offers to measuring processes: `variants` to sample, `jobs` to run once. */
export interface WorkerModule {
  readonly variants?: Readonly<Record<string, VariantFactory<never>>>;
  readonly jobs?: Readonly<Record<string, (args: never) => Promise<unknown>>>;
}

/** The first message to a measuring process: what to build. */
export interface WorkerSpec {
  /** URL of the module of bench/ that exports the factory. */
  readonly url: string;
  readonly kind: 'variant' | 'job';
  readonly name: string;
  readonly args: Args;
  /** What the runner calls this variant in its sample requests (default: `name`). */
  readonly key?: string;
}

/** A request for one sample of the variant built under `sample`. */
export interface SampleRequest {
  readonly sample: string;
}

/** What a measuring process answers. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'reading'; readonly reading: Reading }
  | { readonly type: 'result'; readonly value: unknown }
  | { readonly type: 'failed'; readonly message: string };

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The environment of every measuring process: this one's, the run's
 * certificates, and with `--no-internals` WIRESTACK_NODE_INTERNALS=0.
 */
export function measuringEnv(opts: Pick<BenchOptions, 'publicApiOnly'>): NodeJS.ProcessEnv {
  return { ...process.env, ...certificatesEnv(), ...(opts.publicApiOnly ? { WIRESTACK_NODE_INTERNALS: '0' } : {}) };
}

/** node's arguments for a measuring process: tsx, for the TypeScript. */
export const MEASURING_EXEC_ARGV: readonly string[] = ['--import', 'tsx'];

// One measuring process and its replies, one request at a time.
class Worker {
  readonly #child: ChildProcess;
  #stderr = '';
  #waiting: { resolve: (reply: WorkerReply) => void; reject: (err: Error) => void } | null = null;
  #exited: Error | null = null;

  constructor(what: string, opts: BenchOptions) {
    this.#child = fork(WORKER, [], {
      cwd: ROOT,
      execArgv: [...MEASURING_EXEC_ARGV],
      env: measuringEnv(opts),
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      // The tail is enough to say why a process failed.
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.#child.on('message', (reply: WorkerReply) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      if (reply.type === 'failed') waiting?.reject(new Error(`${what}: ${reply.message}`));
      else waiting?.resolve(reply);
    });
    // A send to a process that has gone (the 'exit' below says why).
    this.#child.on('error', (err) => {
      this.#waiting?.reject(new Error(`${what}: ${err.message}`));
      this.#waiting = null;
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = new Error(`${what}: measuring process exited (${signal ?? `code ${code}`})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`);
      this.#waiting?.reject(this.#exited);
      this.#waiting = null;
    });
  }

  request(message: WorkerSpec | SampleRequest | 'close'): Promise<WorkerReply> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#child.send(message);
    });
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    // A variant whose close() never settles must not keep the run (or the process) waiting.
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await Promise.race([this.request('close').catch(() => {}), exited]);
    await exited;
    clearTimeout(timer);
  }
}

/** A variant living in its own measuring process. */
export interface Isolated {
  readonly sample: Sample;
  close(): Promise<void>;
}

/** What {@link isolateTogether} builds under one key: a factory of the module and its arguments. */
export interface Together<F extends Readonly<Record<string, VariantFactory<never>>>> {
  readonly name: keyof F & string;
  readonly args: Args;
}

// Asks `worker` for samples of the variant built under `key`.
function sampler(worker: Worker, key: string): Sample {
  return async () => {
    const reply = await worker.request({ sample: key });
    if (reply.type !== 'reading') throw new Error(`unexpected reply ${reply.type}`);
    return reply.reading;
  };
}

/**
 * Starts a measuring process that builds `factories[name](args)` from the
 * module at `url` (pass the module's own `import.meta.url` and `variants`).
 */
export async function isolate<F extends Readonly<Record<string, VariantFactory<never>>>, N extends keyof F & string>(
  url: string, factories: F, name: N, args: Parameters<F[N]>[0], opts: BenchOptions,
): Promise<Isolated> {
  const { samples, close } = await isolateTogether(url, factories, { [name]: { name, args: args as Args } }, opts);
  return { sample: samples[name]!, close };
}

/**
 * Starts one measuring process that builds every variant of `specs` (by its
 * key) from the module at `url`, and returns a sampler for each: samples
 * taken in turn from variants that share a process pair up without the
 * process's own luck between them.
 */
export async function isolateTogether<F extends Readonly<Record<string, VariantFactory<never>>>, K extends string>(
  url: string, factories: F, specs: Readonly<Record<K, Together<F>>>, opts: BenchOptions,
): Promise<{ samples: Record<K, Sample>; close(): Promise<void> }> {
  const keys = Object.keys(specs) as K[];
  for (const key of keys) if (!(specs[key].name in factories)) throw new Error(`no variant ${specs[key].name} in ${url}`);
  const worker = new Worker(`${keys.join(', ')} (${url.split('/').pop()})`, opts);
  try {
    for (const key of keys) await worker.request({ url, kind: 'variant', name: specs[key].name, args: specs[key].args, key });
  } catch (err) {
    await worker.close();
    throw err;
  }
  const samples = Object.fromEntries(keys.map((key) => [key, sampler(worker, key)])) as Record<K, Sample>;
  return { samples, close: () => worker.close() };
}

/** Starts every variant at once (their start-up overlaps), each in its own process. */
export async function isolateAll<K extends string>(starts: Record<K, () => Promise<Isolated>>): Promise<{ samples: Record<K, Sample>; close(): Promise<void> }> {
  const names = Object.keys(starts) as K[];
  const settled = await Promise.allSettled(names.map((name) => starts[name]()));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const close = async (): Promise<void> => {
    await Promise.all(started.map((i) => i.close()));
  };
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const samples = Object.fromEntries(names.map((name, i) => [name, (settled[i] as PromiseFulfilledResult<Isolated>).value.sample])) as Record<K, Sample>;
  return { samples, close };
}

/** Runs `jobs[name](args)` from the module at `url` once, in a measuring process of its own, and returns its result. */
export async function isolatedJob<J extends Readonly<Record<string, (args: never) => Promise<unknown>>>, N extends keyof J & string>(
  url: string, jobs: J, name: N, args: Parameters<J[N]>[0], opts: BenchOptions,
): Promise<Awaited<ReturnType<J[N]>>> {
  if (!(name in jobs)) throw new Error(`no job ${name} in ${url}`);
  const worker = new Worker(`${name} (${url.split('/').pop()})`, opts);
  try {
    const reply = await worker.request({ url, kind: 'job', name, args: args as Args });
    if (reply.type !== 'result') throw new Error(`unexpected reply ${reply.type}`);
    return reply.value as Awaited<ReturnType<J[N]>>;
  } finally {
    await worker.close();
  }
}

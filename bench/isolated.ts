// Every variant is measured in a process of its own (bench/worker.ts), which
// the runner asks for one sample at a time. In one shared process the
// variants paid for each other and for all the process had loaded: a
// wirestack sample left garbage and half-done marking that the next
// variant's clock caught, and what the whole run had loaded decided how
// often V8 collected during every sample (see the ballast in worker.ts).
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

  request(message: WorkerSpec | 'sample' | 'close'): Promise<WorkerReply> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#child.send(message);
    });
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    await this.request('close').catch(() => {});
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A variant living in its own measuring process. */
export interface Isolated {
  readonly sample: Sample;
  close(): Promise<void>;
}

/**
 * Starts a measuring process that builds `factories[name](args)` from the
 * module at `url` (pass the module's own `import.meta.url` and `variants`).
 */
export async function isolate<F extends Readonly<Record<string, VariantFactory<never>>>, N extends keyof F & string>(
  url: string, factories: F, name: N, args: Parameters<F[N]>[0], opts: BenchOptions,
): Promise<Isolated> {
  if (!(name in factories)) throw new Error(`no variant ${name} in ${url}`);
  const worker = new Worker(`${name} (${url.split('/').pop()})`, opts);
  try {
    await worker.request({ url, kind: 'variant', name, args: args as Args });
  } catch (err) {
    await worker.close();
    throw err;
  }
  return {
    sample: async () => {
      const reply = await worker.request('sample');
      if (reply.type !== 'reading') throw new Error(`unexpected reply ${reply.type}`);
      return reply.reading;
    },
    close: () => worker.close(),
  };
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

// A measuring process (see isolated.ts): builds the variants or runs the one
// job its messages name, then answers samples of a named variant until 'close'.
import type { SampleRequest, Variant, WorkerModule, WorkerReply, WorkerSpec } from './isolated.js';

/**
 * Ballast: 64 MiB of doubles held for the life of the process, in 128
 * arrays the marker need not trace into (arrays of 64 Ki elements are made
 * on V8's fast path; one array of 8 Mi elements is not). V8 starts
 * incremental marking whenever the old generation is above 8 MB and its
 * allocation limit is no more than one young generation away, and a process
 * that has loaded tsx, the harness and a few libraries sits at 8–10 MB,
 * right there: a bare-socket transfer in it ran about seven mark-compacts
 * per 256 MiB and took about 1.6 times the CPU time of the same loop in a
 * small process (the earlier one-process harness: 92 mark-compacts and
 * 1.4 s of GC in the one-identity row). With the ballast every measuring
 * process, baseline and wirestack alike, has a heap the size of an
 * application's, above that band.
 */
export const ballast: ReadonlyArray<readonly number[]> = Array.from({ length: 128 }, () => new Array<number>(64 * 1024).fill(0.5));

// The variants built here, by the key the runner gave each.
const built = new Map<string, Variant>();

function reply(message: WorkerReply): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

async function failed(err: unknown): Promise<void> {
  await reply({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}

async function start(spec: WorkerSpec): Promise<void> {
  const module = (await import(spec.url)) as WorkerModule;
  if (spec.kind === 'job') {
    const job = module.jobs?.[spec.name] as ((args: unknown) => Promise<unknown>) | undefined;
    if (!job) throw new Error(`${spec.url} has no job ${spec.name}`);
    await reply({ type: 'result', value: await job(spec.args) });
    return;
  }
  const factory = module.variants?.[spec.name] as ((args: unknown) => Promise<Variant>) | undefined;
  if (!factory) throw new Error(`${spec.url} has no variant ${spec.name}`);
  built.set(spec.key ?? spec.name, await factory(spec.args));
  await reply({ type: 'ready' });
}

async function handle(message: WorkerSpec | SampleRequest | 'close'): Promise<void> {
  if (message === 'close') {
    // Every variant is closed, even after one fails to; the process exits either way.
    const failures: string[] = [];
    for (const [key, variant] of built) {
      await variant.close().catch((err: unknown) => failures.push(`${key}: ${err instanceof Error ? err.message : String(err)}`));
    }
    await (failures.length > 0 ? reply({ type: 'failed', message: `closing ${failures.join('; ')}` }) : reply({ type: 'result', value: null }));
    // Whatever a variant left open (a server, a pooled socket) must not keep the process.
    process.exit(0);
  } else if ('sample' in message) {
    const variant = built.get(message.sample);
    if (!variant) throw new Error(`sample of ${message.sample} asked for before it was built`);
    await reply({ type: 'reading', reading: await variant.sample() });
  } else {
    await start(message);
  }
}

// Requests come one at a time: the runner waits for each reply.
process.on('message', (message: WorkerSpec | SampleRequest | 'close') => {
  handle(message).catch(failed);
});

// Helpers for tests that run the `wirestack` command as users run it: the
// built binary (dist/bin/wirestack.js, made by `npm run build`) in a child
// process, its standard input and output either pipes or files.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'dist', 'bin', 'wirestack.js');

/** Throws, with what to do, when the binary has not been built. */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
}

/** A running `wirestack` child, its output so far, and its exit. */
export interface Running<C extends ChildProcess = ChildProcessWithoutNullStreams> {
  readonly child: C;
  /** What it wrote on stdout so far (empty when stdout is a file). */
  readonly stdout: () => Buffer;
  readonly stderr: () => string;
  /** Resolves with the exit code once the process has exited and its output is read. */
  readonly done: Promise<number | null>;
}

/** Files to give a child as its standard input and output instead of pipes. */
export interface StdioFiles {
  /** Read as standard input (`/dev/null`: input already at its end). */
  readonly stdin: string;
  /** Written (truncated first) as standard output. */
  readonly stdout: string;
}

/** Starts `wirestack args` with its standard streams as pipes. */
export function start(args: readonly string[]): Running {
  return watchChild(spawn(process.execPath, [BIN, ...args]));
}

/** Starts `wirestack args` reading and writing files, as `< in > out` in a shell would. */
export function startOnFiles(args: readonly string[], files: StdioFiles): Running<ChildProcess> {
  const stdin = openSync(files.stdin, 'r');
  const stdout = openSync(files.stdout, 'w');
  try {
    return watchChild(spawn(process.execPath, [BIN, ...args], { stdio: [stdin, stdout, 'pipe'] }));
  } finally {
    // The child has its own copies now.
    closeSync(stdin);
    closeSync(stdout);
  }
}

function watchChild<C extends ChildProcess>(child: C): Running<C> {
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => Buffer.concat(out), stderr: () => err, done };
}

/** Runs `wirestack args` with `input` on stdin (then its end) and waits for the exit. */
export async function run(args: readonly string[], input: string | Buffer = '') {
  const running = start(args);
  running.child.stdin.on('error', () => {});
  running.child.stdin.end(input);
  const code = await running.done;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

/** Starts `wirestack listen 127.0.0.1:0 …` and resolves once it says where it listens. */
export async function startListen(args: readonly string[]): Promise<Running & { port: number }>;
export async function startListen(args: readonly string[], files: StdioFiles): Promise<Running<ChildProcess> & { port: number }>;
export async function startListen(args: readonly string[], files?: StdioFiles): Promise<Running<ChildProcess> & { port: number }> {
  const all = ['listen', '127.0.0.1:0', ...args];
  const running = files ? startOnFiles(all, files) : start(all);
  const port = await new Promise<number>((resolve, reject) => {
    const check = (): void => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(running.stderr());
      if (match) {
        running.child.stderr!.off('data', check);
        resolve(Number(match[1]));
      }
    };
    running.child.stderr!.on('data', check);
    running.done.then((code) => reject(new Error(`listen exited (${code}) before listening:\n${running.stderr()}`)));
  });
  return { ...running, port };
}

/** Starts `wirestack listen unix:PATH …` and resolves once it says it listens. */
export async function startListenUnix(path: string, args: readonly string[]): Promise<Running> {
  const running = start(['listen', `unix:${path}`, ...args]);
  await stderrHas(running, `listening on unix:${path}`);
  return running;
}

/** Resolves when `text` has appeared on the child's stderr. */
export function stderrHas(running: Running<ChildProcess>, text: string | RegExp): Promise<void> {
  const found = (): boolean => (typeof text === 'string' ? running.stderr().includes(text) : text.test(running.stderr()));
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!found()) return;
      running.child.stderr!.off('data', check);
      resolve();
    };
    running.child.stderr!.on('data', check);
    running.done.then(() => setImmediate(() => (found() ? resolve() : reject(new Error(`exited before saying ${text}:\n${running.stderr()}`)))));
    check();
  });
}

/** Resolves when `text` has appeared on the child's stdout. */
export function stdoutHas(running: Running, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (running.stdout().toString().includes(text)) {
        running.child.stdout.off('data', check);
        resolve();
      }
    };
    running.child.stdout.on('data', check);
    running.done.then(() => reject(new Error(`exited before printing ${JSON.stringify(text)}:\n${running.stderr()}`)));
    check();
  });
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The SHA-256 of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

// Helpers for interop tests that run real `openssl s_server` / `s_client`
// processes on loopback.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Connection } from '../lib/index.js';

/** Writes PEM files into a fresh temporary directory; `remove()` deletes it. */
export function pemFiles(files: Record<string, string>): { path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wirestack-tls-'));
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem);
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// openssl cannot listen on port 0 and tell us the port: take one the kernel
// says is free (a collision is retried by the caller).
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** A child's output so far, and a way to wait for some text in it. */
export interface Watched {
  readonly output: string;
  until(text: string, what: string): Promise<void>;
}

/** Collects a child's output and resolves `until(text)` when `text` has appeared in it. */
export function watch(child: ChildProcessWithoutNullStreams): Watched {
  let output = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('latin1');
    for (const w of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return {
    get output() { return output; },
    until(text: string, what: string): Promise<void> {
      if (output.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        child.once('exit', () => setImmediate(() => reject(new Error(`openssl exited before ${what}:\n${output}`))));
      });
    },
  };
}

/** Resolves with the child's exit code. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Starts `openssl s_server` for one connection on a free loopback port with
 * the given extra arguments; resolves once it accepts.
 */
export async function startServer(args: readonly string[]): Promise<{ server: ChildProcessWithoutNullStreams; out: Watched; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-naccept', '1', ...args]);
    const out = watch(server);
    try {
      await out.until('ACCEPT', 'accepting');
      return { server, out, port };
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/**
 * The wirestack client's side of a talk with `openssl s_server`: a line each
 * way, then our close_notify, answered by the server's; the server exits 0.
 */
export async function talkToServer(conn: Connection, server: ChildProcessWithoutNullStreams, out: Watched, ours: string): Promise<void> {
  await conn.send(`${ours}\n`);
  await out.until(ours, 'the client bytes');
  server.stdin.write('hello from openssl\n');
  expect(await readLine(conn)).toBe('hello from openssl\n');
  await conn.close();
  // s_server answers our close_notify with its own, then ends.
  expect(await conn.receive()).toBe(null);
  expect(conn.tls!.peerClose).toBe('close_notify');
  expect(await exited(server)).toBe(0);
}

/**
 * The wirestack server's side of a talk with `openssl s_client`: a line each
 * way, then s_client's close_notify when its input ends; it exits 0.
 */
export async function talkToClient(conn: Connection, client: ChildProcessWithoutNullStreams, out: Watched, ours: string): Promise<void> {
  client.stdin.write('hello from openssl\n');
  expect(await readLine(conn)).toBe('hello from openssl\n');
  await conn.send(`${ours}\n`);
  await out.until(ours, 'the server bytes');
  // s_client sends close_notify when its input ends (without -quiet, which implies -ign_eof).
  client.stdin.end();
  expect(await conn.receive()).toBe(null);
  expect(conn.tls!.peerClose).toBe('close_notify');
  expect(await exited(client)).toBe(0);
}

async function readLine(conn: Connection): Promise<string> {
  let got = '';
  while (!got.includes('\n')) got += (await conn.receive())!.toString();
  return got;
}

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

interface Exit { code: number | null; stdout: string; seconds: number }

// Runs a module against the built package (npm test builds first) and tells
// how it ended and when; a child still running after 60 s is killed.
function runScript(source: string): Promise<Exit> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { cwd: root, timeout: 60_000 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout: stdout.trim(), seconds: (performance.now() - started) / 1000 });
    });
  });
}

// A timer that only bounds something else must not keep a process alive by
// itself; one that moves bytes someone waits for must.
describe('timers and the end of the process', () => {
  it("listener.close({ timeout }) does not hold the process once its connections are let go", async () => {
    // Both ends of the only connection are unref'd (as an idle keep-alive
    // would be), so nothing but the close timeout's 60 s could hold the process.
    const exit = await runScript(`
      import { connect, listen } from 'wirestack';
      const listener = await listen({ host: '127.0.0.1', port: 0 }, [], (conn) => void conn.raw.stream.unref());
      const client = await connect({ host: '127.0.0.1', port: listener.address().port });
      client.raw.stream.unref();
      while (listener.connections.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      void listener.close({ timeout: 60_000 });
      console.log('closing with', listener.connections.size, 'open');
    `);
    expect(exit.stdout).toBe('closing with 1 open');
    expect(exit.code).toBe(0);
    expect(exit.seconds).toBeLessThan(30);
  }, 70_000);

  it('delay() over a memory pair delivers before a script ends: its timer holds the process while bytes wait', async () => {
    const exit = await runScript(`
      import { wrap } from 'wirestack';
      import { delay, duplexPair } from 'wirestack/testing';
      const [a, b] = duplexPair();
      const client = wrap(a, [], { role: 'client' });
      const server = wrap(b, [delay(200)], { role: 'server' });
      await client.send('hello');
      console.log((await server.receiveExactly(5)).toString());
    `);
    expect(exit).toMatchObject({ code: 0, stdout: 'hello' });
  }, 70_000);

  it('throttle() on an abandoned connection stops holding the process once the stream below is full', async () => {
    // 2 MiB at 64 KiB/s would take 32 s; nobody reads, so after about 100 KiB
    // the stream below is full, the throttle waits for it with no timer, and
    // the process ends.
    const exit = await runScript(`
      import { wrap } from 'wirestack';
      import { duplexPair, throttle } from 'wirestack/testing';
      const [a, b] = duplexPair();
      const client = wrap(a, [throttle(64 * 1024)], { role: 'client' });
      wrap(b, [], { role: 'server' });
      client.write(Buffer.alloc(2 << 20));
      console.log('abandoned');
    `);
    expect(exit).toMatchObject({ code: 0, stdout: 'abandoned' });
    expect(exit.seconds).toBeLessThan(16);
  }, 70_000);
});

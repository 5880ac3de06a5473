// The `wirestack` command loses nothing at half-close: each direction runs
// until its own end, whichever ends first, and a transfer cut short is a
// non-zero exit with its code, never a quiet 0. Large transfers are checked
// by SHA-256 of the files written, over plain TCP, TLS and deflate, between
// our own commands and against openssl s_server / s_client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { connect, deflate, identity, tls } from '../lib/index.js';
import { makeCertificates } from '../lib/testing/index.js';
import { assertBuilt, lines, sha256File, start, startListen, startOnFiles, type Running } from './cli.js';
import { exited, freePort, pemFiles } from './openssl.js';

/** Bytes each way; lower it for a quick local run (WIRESTACK_CLI_TRANSFER_BYTES=5000000). */
const SIZE = Number(process.env.WIRESTACK_CLI_TRANSFER_BYTES ?? 50_000_000);

const certs = makeCertificates();
const pem = pemFiles({ 'ca.pem': certs.ca.cert, 'server.pem': certs.server.cert, 'server.key': certs.server.key });
const dir = mkdtempSync(join(tmpdir(), 'wirestack-halfclose-'));
const path = (name: string): string => join(dir, name);
// Two different files, so that a mix-up of directions (or an echo) cannot pass.
const hashes: Record<'up.bin' | 'down.bin', string> = { 'up.bin': '', 'down.bin': '' };

beforeAll(() => {
  assertBuilt();
  hashes['up.bin'] = writeRandomFile(path('up.bin'), SIZE);
  hashes['down.bin'] = writeRandomFile(path('down.bin'), SIZE);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pem.remove();
});

// The flags of each stack, for `listen` and for `connect`.
const STACKS = {
  tcp: { listen: [], connect: [] },
  tls: {
    listen: ['--tls', '--cert', pem.path('server.pem'), '--key', pem.path('server.key')],
    connect: ['--tls', '--ca', pem.path('ca.pem')],
  },
  deflate: { listen: ['--deflate'], connect: ['--deflate'] },
} satisfies Record<string, { listen: string[]; connect: string[] }>;

/** Runs our listen and our connect on files; `/dev/null` as an input is an input already at its end. */
async function transfer(stack: keyof typeof STACKS, listenIn: string, connectIn: string) {
  const listener = await startListen(['--once', '-q', ...STACKS[stack].listen], { stdin: listenIn, stdout: path('listen.out') });
  const client = startOnFiles(['connect', `localhost:${listener.port}`, '-q', ...STACKS[stack].connect],
    { stdin: connectIn, stdout: path('connect.out') });
  const [listenCode, connectCode] = await Promise.all([listener.done, client.done]);
  return {
    listenCode, connectCode,
    listenErr: listener.stderr(), connectErr: client.stderr(),
    listenOut: await sha256File(path('listen.out')), connectOut: await sha256File(path('connect.out')),
  };
}

/** Both exited 0 and, being quiet (-q), said nothing but where the listener listens. */
function expectClean(r: Awaited<ReturnType<typeof transfer>>): void {
  expect({ listen: r.listenCode, connect: r.connectCode, listenErr: r.listenErr, connectErr: r.connectErr })
    .toEqual({ listen: 0, connect: 0, listenErr: expect.stringMatching(/^wirestack: listening on [^\n]*\n$/), connectErr: '' });
}

const EMPTY = createHash('sha256').digest('hex');

describe.each(Object.keys(STACKS) as Array<keyof typeof STACKS>)('%s: our connect and our listen', (stack) => {
  it('each way at once: both files arrive whole, both exit 0', async () => {
    const r = await transfer(stack, path('down.bin'), path('up.bin'));
    expectClean(r);
    expect(r.listenOut).toBe(hashes['up.bin']);
    expect(r.connectOut).toBe(hashes['down.bin']);
  });

  it('to a listener whose input is already at its end (nc -l > file < /dev/null): the whole file arrives', async () => {
    const r = await transfer(stack, '/dev/null', path('up.bin'));
    expectClean(r);
    expect(r.listenOut).toBe(hashes['up.bin']);
    expect(r.connectOut).toBe(EMPTY);
  });

  it('from a listener, to a connect whose input is already at its end: the whole file arrives', async () => {
    const r = await transfer(stack, path('down.bin'), '/dev/null');
    expectClean(r);
    expect(r.connectOut).toBe(hashes['down.bin']);
    expect(r.listenOut).toBe(EMPTY);
  });
});

// openssl's s_server and s_client end the whole session when they receive a
// close_notify (they stop sending), so they cannot take part in a one-way
// transfer after our end; each way at once they can, if our side ends only
// after it has received everything they send.
describe('TLS against openssl', () => {
  it('connect ↔ openssl s_server: each way at once, both files whole', async () => {
    const port = await freePort();
    // -quiet: only the bytes received on stdout.
    const server = opensslWritingTo(path('server.out'), ['s_server', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-quiet',
      '-cert', pem.path('server.pem'), '-key', pem.path('server.key')]);
    try {
      const client = await connectWhenListening(['connect', `localhost:${port}`, '--tls', '--ca', pem.path('ca.pem')]);
      const received = tally(client.child.stdout);
      await Promise.all([feed(path('up.bin'), client.child.stdin), feed(path('down.bin'), server.stdin!), received.reached(SIZE)]);
      client.child.stdin.end();
      expect(await client.done).toBe(0);
      expect(await exited(server)).toBe(0);
      expect(received.sha256()).toBe(hashes['down.bin']);
      expect(await sha256File(path('server.out'))).toBe(hashes['up.bin']);
    } finally {
      server.kill();
    }
  });

  it('openssl s_client ↔ listen: each way at once, both files whole', async () => {
    const listener = await startListen(['-q', ...STACKS.tls.listen]);
    const client = opensslWritingTo(path('client.out'), ['s_client', '-connect', `127.0.0.1:${listener.port}`,
      '-CAfile', pem.path('ca.pem'), '-servername', 'localhost', '-verify_return_error', '-quiet']);
    try {
      const received = tally(listener.child.stdout);
      await Promise.all([feed(path('down.bin'), listener.child.stdin), feed(path('up.bin'), client.stdin!), received.reached(SIZE)]);
      listener.child.stdin.end();
      expect(await listener.done).toBe(0);
      expect(await exited(client)).toBe(0);
      expect(received.sha256()).toBe(hashes['up.bin']);
      expect(await sha256File(path('client.out'))).toBe(hashes['down.bin']);
    } finally {
      client.kill();
      listener.child.kill();
    }
  });
});

describe('a transfer cut short exits non-zero, with its code', () => {
  it('connect, sending: the peer resets mid-transfer → 1, ERR_WIRESTACK_TRANSPORT', async () => {
    await withServer((socket) => afterBytes(socket, 1 << 20, () => socket.resetAndDestroy()), async (port) => {
      const client = startOnFiles(['connect', `127.0.0.1:${port}`, '-q'], { stdin: path('up.bin'), stdout: '/dev/null' });
      expect(await client.done).toBe(1);
      expect(lines(client.stderr())).toEqual([expect.stringMatching(/^wirestack connect: ERR_WIRESTACK_TRANSPORT: .*ECONNRESET/)]);
    });
  });

  it('connect, sending: the peer ends its side and goes away with input left → 1, not a quiet 0', async () => {
    // Like a server done with a request that closes the socket: the rest of the input can never be delivered.
    await withServer((socket) => afterBytes(socket, 1 << 20, () => socket.end(() => socket.destroy())), async (port) => {
      const client = startOnFiles(['connect', `127.0.0.1:${port}`, '-q'], { stdin: path('up.bin'), stdout: '/dev/null' });
      expect(await client.done).toBe(1);
      expect(lines(client.stderr())).toEqual([expect.stringMatching(/^wirestack connect: ERR_WIRESTACK_(TRANSPORT|PREMATURE_CLOSE): /)]);
    });
  });

  it('listen, sending and receiving: the client resets mid-transfer → 1, ERR_WIRESTACK_TRANSPORT', async () => {
    // Sending, so that the reset is seen: over plain TCP, Node (libuv) may report a reset that
    // comes while it only reads as a clean end (see docs/command.md); TLS and deflate catch that case.
    const listener = await startListen(['--once', '-q'], { stdin: path('down.bin'), stdout: '/dev/null' });
    const socket = tcpConnect({ port: listener.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    // Once the listener's file is on its way: a part of ours, then the reset.
    socket.once('data', () => socket.write(randomBytes(1 << 20), () => socket.resetAndDestroy()));
    expect(await listener.done).toBe(1);
    expect(listener.stderr()).toMatch(/^wirestack listen: #1 127\.0\.0\.1:\d+: ERR_WIRESTACK_TRANSPORT: .*(ECONNRESET|EPIPE)/m);
  });

  it('a receive-only listener under --deflate: the client dies mid-stream → 1, ERR_WIRESTACK_INFLATE', async () => {
    const listener = await startListen(['--once', '-q', '--deflate']);
    listener.child.stdin.end();
    const client = await connect({ host: '127.0.0.1', port: listener.port }, [deflate()]);
    await client.send(randomBytes(1 << 20));
    await tally(listener.child.stdout).reached(1);
    // Compressed bytes went out, but never the end of the compressed stream.
    client.raw.stream.end();
    expect(await listener.done).toBe(1);
    expect(listener.stderr()).toMatch(/^wirestack listen: #1 127\.0\.0\.1:\d+: ERR_WIRESTACK_INFLATE: .*unexpected end of file.*\(try: the compressed stream was cut off before its end/m);
    client.destroy();
  });

  it('connect --tls, receiving: openssl s_server dies mid-stream (FIN, no close_notify) → 1, ERR_WIRESTACK_TLS_TRUNCATED', async () => {
    const port = await freePort();
    const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-quiet',
      '-cert', pem.path('server.pem'), '-key', pem.path('server.key')]);
    try {
      const client = await connectWhenListening(['connect', `localhost:${port}`, '--tls', '--ca', pem.path('ca.pem')]);
      server.stdin.write('first part\n');
      await tally(client.child.stdout).reached('first part\n'.length);
      server.kill('SIGKILL');
      expect(await client.done).toBe(1);
      expect(lines(client.stderr()).at(-1)).toMatch(/^wirestack connect: ERR_WIRESTACK_TLS_TRUNCATED: /);
    } finally {
      server.kill();
    }
  });

  it('listen --tls, receiving: a client ends TCP under TLS (FIN, no close_notify) → 1, ERR_WIRESTACK_TLS_TRUNCATED', async () => {
    // A killed s_client may leave bytes unread, and its kernel then resets instead of a FIN;
    // our library's client can end the socket under its TLS layer, which is exactly a truncation.
    // (A layer below TLS keeps a plain socket there: TLS lowest would be one TLS socket, ending with close_notify.)
    const listener = await startListen(['--once', '-q', ...STACKS.tls.listen]);
    const client = await connect({ host: 'localhost', port: listener.port }, [identity(), tls.client({ ca: certs.ca.cert })]);
    try {
      await client.send('first part\n');
      await tally(listener.child.stdout).reached('first part\n'.length);
      client.raw.stream.end();
      expect(await listener.done).toBe(1);
      expect(listener.stderr()).toMatch(/^wirestack listen: #1 127\.0\.0\.1:\d+: ERR_WIRESTACK_TLS_TRUNCATED: /m);
    } finally {
      client.destroy();
      listener.child.kill();
    }
  });

  it('standard output that cannot be written (a full disk: /dev/full) → 1, ERR_WIRESTACK_STDIO', async () => {
    const listener = await startListen(['--once', '-q'], { stdin: path('down.bin'), stdout: '/dev/null' });
    const client = startOnFiles(['connect', `127.0.0.1:${listener.port}`, '-q'], { stdin: '/dev/null', stdout: '/dev/full' });
    expect(await client.done).toBe(1);
    expect(lines(client.stderr())).toEqual([expect.stringMatching(/^wirestack connect: ERR_WIRESTACK_STDIO: cannot write standard output: ENOSPC/)]);
    expect(await listener.done).toBe(1);
  });
});

describe('listen --once --exec exits with the outcome of its command', () => {
  it("the command's exit status (3), after the peer's input was read and dropped", async () => {
    const listener = await startListen(['--once', '-q', '--exec', 'exit 3']);
    // The command never reads: what the peer sends is discarded, and the peer still sees a clean close.
    const client = startOnFiles(['connect', `127.0.0.1:${listener.port}`, '-q'], { stdin: path('up.bin'), stdout: path('connect.out') });
    expect(await client.done).toBe(0);
    expect(await listener.done).toBe(3);
    expect(listener.stderr()).toMatch(/#1 exit 3 exited with status 3\n/);
  });

  it('a command not found: the shell\'s 127', async () => {
    const listener = await startListen(['--once', '-q', '--exec', 'no-such-command-wirestack']);
    const client = startOnFiles(['connect', `127.0.0.1:${listener.port}`, '-q'], { stdin: '/dev/null', stdout: '/dev/null' });
    expect(await client.done).toBe(0);
    expect(await listener.done).toBe(127);
  });

  it('a command killed by a signal: 128 + 9, with ERR_WIRESTACK_EXEC', async () => {
    const listener = await startListen(['--once', '-q', '--exec', 'kill -KILL $$']);
    const client = startOnFiles(['connect', `127.0.0.1:${listener.port}`, '-q'], { stdin: '/dev/null', stdout: '/dev/null' });
    expect(await client.done).toBe(0);
    expect(await listener.done).toBe(137);
    expect(listener.stderr()).toMatch(/^wirestack listen: #1 127\.0\.0\.1:\d+: ERR_WIRESTACK_EXEC: kill -KILL \$\$ was killed by SIGKILL /m);
  });
});

// ── helpers ──

function writeRandomFile(file: string, size: number): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  try {
    for (let left = size; left > 0;) {
      const chunk = randomBytes(Math.min(left, 1 << 20));
      writeSync(fd, chunk);
      hash.update(chunk);
      left -= chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Spawns `openssl args` writing its standard output to `file`. Its input is
 * a pipe, fed by the test and never ended: s_server under -quiet, given a
 * file at its end as input, stopped writing what it received after 128 KiB.
 */
function opensslWritingTo(file: string, args: readonly string[]): ChildProcess {
  const stdout = openSync(file, 'w');
  try {
    return spawn('openssl', args, { stdio: ['pipe', stdout, 'ignore'] });
  } finally {
    closeSync(stdout);
  }
}

/** Writes a file into `stdin` without ending it; resolves once all of it is written. */
function feed(file: string, stdin: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const source = createReadStream(file);
    source.once('error', reject);
    source.once('end', resolve);
    source.pipe(stdin, { end: false });
  });
}

/** Counts and hashes what a stream delivers, without keeping it. */
function tally(stream: Readable): { sha256(): string; reached(bytes: number): Promise<void> } {
  const hash = createHash('sha256');
  let count = 0;
  const waiters: Array<{ bytes: number; resolve: () => void }> = [];
  stream.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    count += chunk.length;
    for (const w of waiters.filter((w) => count >= w.bytes)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    sha256: () => hash.digest('hex'),
    reached: (bytes) => (count >= bytes ? Promise.resolve() : new Promise((resolve, reject) => {
      waiters.push({ bytes, resolve });
      stream.once('end', () => setImmediate(() => reject(new Error(`the stream ended after ${count} of ${bytes} bytes`))));
    })),
  };
}

/**
 * Starts `wirestack connect …` once the server accepts: openssl's -quiet
 * server says nothing when it is ready, and a probe would use up its one
 * connection, so a refused attempt is simply made again.
 */
async function connectWhenListening(args: readonly string[]): Promise<Running> {
  for (let attempt = 0; ; attempt++) {
    const client = start(args);
    const connected = await new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (client.stderr().includes('wirestack: connected to')) resolve(true);
      };
      client.child.stderr.on('data', check);
      void client.done.then(() => resolve(false));
    });
    if (connected) return client;
    if (attempt === 50 || !client.stderr().includes('ECONNREFUSED')) throw new Error(`connect failed:\n${client.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `body` against a plain TCP server on loopback whose connections `onSocket` handles. */
async function withServer(onSocket: (socket: Socket) => void, body: (port: number) => Promise<void>): Promise<void> {
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body((server.address() as { port: number }).port);
  } finally {
    server.close();
  }
}

/** Reads (and drops) `bytes` from `socket`, then calls `then`. */
function afterBytes(socket: Socket, bytes: number, then: () => void): void {
  let seen = 0;
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen < bytes) return;
    socket.off('data', onData);
    socket.pause();
    then();
  };
  socket.on('data', onData);
}

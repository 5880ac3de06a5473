// The `wirestack` command, run as users run it: the built binary
// (dist/bin/wirestack.js, made by `npm run build`) in a child process,
// against real openssl peers and against itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { makeCertificates } from '../lib/testing/index.js';
import { assertBuilt, lines, run, sha256, start, startListen, stdoutHas } from './cli.js';
import { exited, freePort, pemFiles, startServer, watch } from './openssl.js';

const certs = makeCertificates();
const pem = pemFiles({
  'ca.pem': certs.ca.cert,
  'server.pem': certs.server.cert,
  'server.key': certs.server.key,
  'client.pem': certs.client.cert,
  'client.key': certs.client.key,
});
const file = (name: string): string => pem.path(name);

beforeAll(assertBuilt);
afterAll(() => pem.remove());

describe('wirestack demo', () => {
  it('runs with nothing set up, checks the 1 MiB echo by hash and exits 0', async () => {
    const { code, stdout, stderr } = await run(['demo']);
    const text = stdout.toString();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(text).toMatch(/sent {8}1048576 bytes {2}sha256 ([0-9a-f]{64})\n {2}received {4}1048576 bytes {2}sha256 \1\n\s+hash match ✓/);
    expect(text).toMatch(/protocol {4}TLSv1\.[23]/);
    expect(text).toContain('tls handshake');                     // the log below TLS names the records
    expect(text).toMatch(/over-tls \+[\d.]+ms out \d+ bytes/);    // the log above TLS
    expect(text).toMatch(/log lines not shown/);                  // the 1 MiB part is abridged
    expect(text).toMatch(/socket ↔ wire\s+\d+\s+\d+/);            // bytes per layer
    expect(text).toContain('with close_notify');
  });
});

describe('help and bad input', () => {
  it('--help on each command lists its flags with an example', async () => {
    const [connect, listen, demo, top] = await Promise.all([
      run(['connect', '--help']), run(['listen', '--help']), run(['demo', '--help']), run(['--help'])]);
    for (const r of [connect, listen, demo, top]) expect(r.code).toBe(0);
    for (const flag of ['--log[=summary|hex|text]', '--tls', '--deflate', '--servername NAME', '--ca FILE', '--cert FILE',
      '--key FILE', '--insecure', '--alpn a,b', '--tls-engine node|forge', '--tls-min VERSION', '--ciphers LIST']) expect(connect.stdout.toString()).toContain(flag);
    for (const flag of ['--self-signed', '--echo', '--exec CMD', '--once', '--cert FILE']) expect(listen.stdout.toString()).toContain(flag);
    for (const r of [connect, listen, demo, top]) expect(r.stdout.toString()).toMatch(/Examples?:\n {2}\S/);
    for (const r of [connect, listen]) expect(r.stdout.toString()).toMatch(/Exit status[^:]*:\n {2}0 .*\n[\s\S]* {2}1 .*\n[\s\S]* {2}2 /);
    expect(listen.stdout.toString()).toContain("with --exec, the command's exit status S (128+N if signal N killed it)");
  });

  // Each: the arguments, and what the one line on stderr must say.
  const mistakes: Array<[string[], RegExp]> = [
    [['connect', '127.0.0.1:9', '--bogus'], /unknown flag --bogus/],
    [['connect', 'localhost'], /expected HOST:PORT or unix:PATH, got "localhost"/],
    [['connect', 'localhost:99999'], /"99999" is not a port number/],
    [['connect', '::1:443'], /write an IPv6 address in brackets: \[::1\]:443/],
    [['connect', '127.0.0.1:9', '--log=loud'], /--log must be one of summary, hex, text, got "loud"/],
    [['connect', '127.0.0.1:9', '--ca'], /--ca needs a value \(FILE\)/],
    [['connect', '127.0.0.1:9', '--ca', 'ca.pem'], /--ca needs --tls/],
    [['connect', '127.0.0.1:9', '--tls', '--ca', '/nonexistent/ca.pem'], /--ca: cannot read \/nonexistent\/ca\.pem: ENOENT/],
    [['connect', '127.0.0.1:9', '--tls', '--cert', 'client.pem'], /--cert and --key go together/],
    [['listen', '0', '--tls'], /--tls needs --cert FILE and --key FILE, or --self-signed/],
    [['listen', '0', '--echo', '--exec', 'cat'], /give --echo or --exec, not both/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  it('bad flags and arguments: exit 2, one line naming the mistake, its code and --help', async () => {
    const results = await Promise.all(mistakes.map(([args]) => run(args)));
    results.forEach(({ code, stderr, stdout }, i) => {
      const [args, message] = mistakes[i]!;
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stdout.length).toBe(0);
      expect(lines(stderr)).toHaveLength(1);
      expect(stderr).toMatch(/^wirestack( \w+)?: ERR_WIRESTACK_INVALID_ARGUMENT: /);
      expect(stderr).toMatch(message);
      expect(stderr).toMatch(/\(try: see wirestack (\w+ )?--help\)\n$/);
    });
  });

  it('an unreachable host: exit 1, one line with ERR_WIRESTACK_CONNECT and what to try', async () => {
    const port = await freePort();   // free: nobody listens there
    const { code, stderr, stdout } = await run(['connect', `127.0.0.1:${port}`, '--tls']);
    expect(code).toBe(1);
    expect(stdout.length).toBe(0);
    expect(lines(stderr)).toEqual([
      `wirestack connect: ERR_WIRESTACK_CONNECT: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} `
      + '(try: check the host and port, and that a server is listening there)',
    ]);
  });

  it('a port already taken: listen exits 1 with ERR_WIRESTACK_LISTEN', async () => {
    const first = await startListen(['--echo']);
    try {
      const { code, stderr } = await run(['listen', `127.0.0.1:${first.port}`, '--echo']);
      expect(code).toBe(1);
      expect(lines(stderr)).toHaveLength(1);
      expect(stderr).toMatch(/^wirestack listen: ERR_WIRESTACK_LISTEN: .*EADDRINUSE.*\(try: pick another port/);
    } finally {
      first.child.kill();
    }
  });
});

describe('connect against openssl s_server', () => {
  it('TLS 1.3: bytes both ways, half-close, exit 0 after the close_notify exchange', async () => {
    const { server, out, port } = await startServer(['-tls1_3', '-cert', file('server.pem'), '-key', file('server.key')]);
    const client = start(['connect', `localhost:${port}`, '--tls', '--ca', file('ca.pem')]);
    try {
      client.child.stdin.write('hello from wirestack\n');
      await out.until('hello from wirestack', 'the client bytes');
      server.stdin.write('hello from openssl\n');
      await stdoutHas(client, 'hello from openssl\n');
      // Our end of input: close_notify and FIN; s_server answers with its own and exits.
      client.child.stdin.end();
      expect(await client.done).toBe(0);
      expect(await exited(server)).toBe(0);
      expect(client.stdout().toString()).toBe('hello from openssl\n');
      expect(lines(client.stderr())).toEqual([expect.stringMatching(
        new RegExp(`^wirestack: connected to localhost:${port}, TLSv1\\.3, TLS_\\w+, CN=localhost, verified$`))]);
    } finally {
      server.kill();
      client.child.kill();
    }
  });

  it('--tls-engine forge (TLS 1.0, which naming forge implies): bytes both ways and a clean close', async () => {
    const { server, out, port } = await startServer(['-tls1', '-cipher', 'AES128-SHA:@SECLEVEL=0',
      '-cert', file('server.pem'), '-key', file('server.key')]);
    const client = start(['connect', `localhost:${port}`, '--tls', '--tls-engine', 'forge', '--ca', file('ca.pem')]);
    try {
      client.child.stdin.write('hello from forge\n');
      await out.until('hello from forge', 'the client bytes');
      server.stdin.write('hello from openssl\n');
      await stdoutHas(client, 'hello from openssl\n');
      client.child.stdin.end();
      expect(await client.done).toBe(0);
      expect(await exited(server)).toBe(0);
      expect(client.stdout().toString()).toBe('hello from openssl\n');
      expect(client.stderr()).toMatch(/connected to localhost:\d+, TLSv1, TLS_RSA_WITH_AES_128_CBC_SHA, CN=localhost, verified\n$/);
    } finally {
      server.kill();
      client.child.kill();
    }
  });

  it('--ciphers and --tls-min reach the TLS filter: a TLS 1.2 server, a chosen cipher, then a refusal', async () => {
    const { server, port } = await startServer(['-tls1_2', '-naccept', '2', '-cert', file('server.pem'), '-key', file('server.key')]);
    try {
      const chosen = await run(['connect', `localhost:${port}`, '--tls', '--ca', file('ca.pem'), '--ciphers', 'ECDHE-RSA-AES128-GCM-SHA256']);
      expect(chosen.code).toBe(0);
      expect(chosen.stderr).toContain(', TLSv1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CN=localhost, verified');
      const refused = await run(['connect', `localhost:${port}`, '--tls', '--ca', file('ca.pem'), '--tls-min', 'TLSv1.3']);
      expect(refused.code).toBe(1);
      expect(lines(refused.stderr)).toEqual([
        'wirestack connect: ERR_WIRESTACK_TLS_ALERT: tls: the peer sent a fatal "protocol_version" alert '
        + '(try: no TLS version in common: see --tls-min (and --tls-engine))',
      ]);
    } finally {
      server.kill();
    }
  });

  it('an untrusted server certificate: exit 1, ERR_WIRESTACK_TLS_UNKNOWN_CA, try --ca', async () => {
    const { server, port } = await startServer(['-cert', file('server.pem'), '-key', file('server.key')]);
    try {
      const { code, stderr } = await run(['connect', `localhost:${port}`, '--tls']);
      expect(code).toBe(1);
      expect(lines(stderr)).toHaveLength(1);
      expect(stderr).toMatch(/^wirestack connect: ERR_WIRESTACK_TLS_UNKNOWN_CA: .*\(try: pass the CA .* --ca FILE/);
    } finally {
      server.kill();
    }
  });
});

describe('listen against openssl s_client', () => {
  it('a TLS echo server: s_client gets its line back; exit 0 after its close_notify', async () => {
    const listener = await startListen(['--tls', '--cert', file('server.pem'), '--key', file('server.key'), '--echo', '--once']);
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${listener.port}`, '-CAfile', file('ca.pem'),
      '-servername', 'localhost', '-verify_return_error']);
    const out = watch(client);
    try {
      await out.until('Verify return code: 0 (ok)', 'the handshake');
      client.stdin.write('echo me, wirestack\n');
      // s_client prints what it receives, not what it sends: this is the echo.
      await out.until('echo me, wirestack', 'the echo');
      client.stdin.end();
      expect(await exited(client)).toBe(0);
      expect(await listener.done).toBe(0);
      expect(listener.stderr()).toMatch(/#1 connection from 127\.0\.0\.1:\d+\n.*#1 TLSv1\.3, TLS_\w+\n.*#1 closed\n/);
    } finally {
      client.kill();
      listener.child.kill();
    }
  });
});

describe('connect against listen', () => {
  it('every filter flag, in stack order: 2 MiB echoed through log → tls → log → deflate, checked by SHA-256', async () => {
    const listener = await startListen(['--log', '--tls', '--cert', file('server.pem'), '--key', file('server.key'),
      '--alpn', 'wirestack/1,other', '--tls-engine', 'node', '--log=hex', '--deflate', '--echo', '--once']);
    const payload = randomBytes(2 * 1024 * 1024);
    const client = await run(['connect', `localhost:${listener.port}`, '--log=summary', '--tls', '--ca', file('ca.pem'),
      '--servername', 'localhost', '--cert', file('client.pem'), '--key', file('client.key'), '--alpn', 'wirestack/1',
      '--tls-engine', 'node', '--log=text', '--deflate'], payload);
    expect(client.code).toBe(0);
    expect(await listener.done).toBe(0);
    expect(client.stdout.length).toBe(payload.length);
    expect(sha256(client.stdout)).toBe(sha256(payload));
    // The stack is in flag order: the first log sits on the socket and names TLS records…
    expect(client.stderr).toMatch(/^wire \+[\d.]+ms out \d+ bytes\n {2}tls handshake TLSv1\.0/m);
    // …the second above TLS, where it sees the compressed bytes deflate writes.
    expect(client.stderr).toMatch(/^over-tls \+[\d.]+ms out \d+ bytes\n {2}\| /m);
    expect(client.stderr).toContain(', ALPN wirestack/1, CN=localhost, verified');
    expect(listener.stderr()).toContain('listening on 127.0.0.1:');
    expect(listener.stderr()).toContain('(stack: wire → tls → over-tls → deflate)');
    expect(listener.stderr()).toMatch(/^#1 over-tls \+[\d.]+ms in \d+ bytes\n {2}00000000: /m);
    // stderr is a pipe here, never a terminal: no progress line.
    // The progress line's own shape (the logged random bytes may hold a stray ↑ of their own).
    expect(client.stderr).not.toMatch(/↑ [\d.]+ \S*B {2}↓ [\d.]+ \S*B {2}[\d.]+ \S*B\/s/);
  });

  it('forge at both ends, under deflate: 512 KiB echoed and checked by SHA-256', async () => {
    const listener = await startListen(['--tls', '--tls-engine', 'forge', '--cert', file('server.pem'), '--key', file('server.key'),
      '--deflate', '--echo', '--once']);
    const payload = randomBytes(512 * 1024);
    const client = await run(['connect', `localhost:${listener.port}`, '--tls', '--tls-engine', 'forge', '--ca', file('ca.pem'),
      '--deflate'], payload);
    expect(client.code).toBe(0);
    expect(await listener.done).toBe(0);
    expect(sha256(client.stdout)).toBe(sha256(payload));
    expect(client.stderr).toMatch(/, TLSv1, TLS_RSA_WITH_AES_\d+_CBC_SHA, CN=localhost, verified/);
  });

  it('--self-signed: refused without trust (exit 1, try --ca), accepted with --insecure', async () => {
    const listener = await startListen(['--tls', '--self-signed', '--echo']);
    try {
      expect(listener.stderr()).toMatch(/throwaway certificate .*SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      const refused = await run(['connect', `localhost:${listener.port}`, '--tls'], 'x');
      expect(refused.code).toBe(1);
      expect(lines(refused.stderr)).toHaveLength(1);
      expect(refused.stderr).toMatch(/ERR_WIRESTACK_TLS_UNKNOWN_CA.*--insecure/);
      const accepted = await run(['connect', `localhost:${listener.port}`, '--tls', '--insecure'], 'ping\n');
      expect(accepted.code).toBe(0);
      expect(accepted.stdout.toString()).toBe('ping\n');
      expect(accepted.stderr).toMatch(/NOT verified \(ERR_WIRESTACK_TLS_UNKNOWN_CA/);
    } finally {
      listener.child.kill();
    }
  });

  it('--exec: each connection is piped through a child process', async () => {
    const listener = await startListen(['--deflate', '--exec', 'tr a-z A-Z', '--once']);
    const client = await run(['connect', `127.0.0.1:${listener.port}`, '--deflate'], 'hello, exec\nsecond line\n');
    expect(client.code).toBe(0);
    expect(client.stdout.toString()).toBe('HELLO, EXEC\nSECOND LINE\n');
    expect(await listener.done).toBe(0);
  });

  it('--exec: the child sees the peer address, and its last words reach the peer after the peer has half-closed', async () => {
    const script = 'cat >/dev/null; echo "from $WIRESTACK_REMOTE_ADDR"';
    const listener = await startListen(['--exec', script, '--once']);
    const client = await run(['connect', `127.0.0.1:${listener.port}`], 'ignored input\n');
    expect(client.code).toBe(0);
    expect(client.stdout.toString()).toBe('from 127.0.0.1\n');
    expect(await listener.done).toBe(0);
  });

  it('without --echo or --exec: one connection joined to stdin and stdout, like nc -l', async () => {
    const listener = await startListen(['--tls', '--self-signed']);
    const client = start(['connect', `localhost:${listener.port}`, '--tls', '--insecure', '-q']);
    try {
      client.child.stdin.write('ping\n');
      await stdoutHas(listener, 'ping\n');
      listener.child.stdin.write('pong\n');
      await stdoutHas(client, 'pong\n');
      // The client's end of input closes its side only: the listener's words still reach it.
      client.child.stdin.end();
      listener.child.stdin.write('after your end\n');
      await stdoutHas(client, 'after your end\n');
      listener.child.stdin.end();
      expect(await client.done).toBe(0);
      expect(await listener.done).toBe(0);
      expect(listener.stdout().toString()).toBe('ping\n');
      expect(client.stdout().toString()).toBe('pong\nafter your end\n');
      expect(client.stderr()).toBe('');   // -q
    } finally {
      client.child.kill();
      listener.child.kill();
    }
  });

  it('a reader that goes away (… | head): exit 0 quietly, and the server\'s child is stopped', async () => {
    const listener = await startListen(['--exec', 'yes', '--once', '-q']);
    const client = start(['connect', `127.0.0.1:${listener.port}`, '-q']);
    await stdoutHas(client, 'y\ny\n');
    client.child.stdout.destroy();   // the next write of the client fails with EPIPE
    expect(await client.done).toBe(0);
    expect(client.stderr()).toBe('');
    // The server sees the connection go and stops `yes` instead of feeding it forever.
    expect(await listener.done).toBe(1);
    expect(listener.stderr()).toMatch(/^wirestack listen: #1 127\.0\.0\.1:\d+: ERR_WIRESTACK_(TRANSPORT|PREMATURE_CLOSE): /m);
  });

  it('a peer that resets the connection: exit 1 with one coded line', async () => {
    const server = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const client = start(['connect', `127.0.0.1:${port}`, '-q']);
      client.child.stdin.write('hello?\n');
      expect(await client.done).toBe(1);
      expect(lines(client.stderr())).toHaveLength(1);
      expect(client.stderr()).toMatch(/^wirestack connect: ERR_WIRESTACK_TRANSPORT: .*ECONNRESET.*\(try: /);
    } finally {
      server.close();
    }
  });
});

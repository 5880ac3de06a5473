// The `wirestack` command against what its users know from openssl
// s_client/s_server, ncat and socat: Unix sockets, the TLS flags, ncat's
// habits (-k, -w, -i, --send-only, --recv-only, connect --exec, --version),
// flags written the OpenSSL way, messages that point the right way, and a
// listener's lines tagged per connection. Run as users run it: the built
// binary in a child process, against itself, openssl and Node servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { makeCertificates } from '../lib/testing/index.js';
import { assertBuilt, lines, run, sha256, start, startListen, startListenUnix, stderrHas, stdoutHas } from './cli.js';
import { exited, watch } from './openssl.js';
import { tcpServer } from './sockets.js';

const certs = makeCertificates();
const other = makeCertificates({ label: 'another PKI' });
const dir = mkdtempSync(join(tmpdir(), 'wirestack-parity-'));
const file = (name: string): string => join(dir, name);
for (const [name, pem] of Object.entries({
  'ca.pem': certs.ca.cert, 'server.pem': certs.server.cert, 'server.key': certs.server.key,
  'client.pem': certs.client.cert, 'client.key': certs.client.key,
  'other-client.pem': other.client.cert, 'other-client.key': other.client.key,
})) writeFileSync(file(name), pem);
const SERVER = ['--tls', '--cert', file('server.pem'), '--key', file('server.key')];

beforeAll(assertBuilt);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--version and --help', () => {
  it('--version names the package version, Node and OpenSSL, from the top and from each command', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['connect', '--version'], ['listen', '--version']]) {
      const { code, stdout } = await run(args);
      expect(code).toBe(0);
      expect(stdout.toString()).toBe(`wirestack ${version} (Node ${process.version}, OpenSSL ${process.versions.openssl})\n`);
    }
  });

  it('each new flag is in --help', async () => {
    const [connect, listen] = await Promise.all([run(['connect', '--help']), run(['listen', '--help'])]);
    for (const flag of ['--keylog FILE', '--tls-max VERSION', '--showcerts', '--sess-out FILE', '--sess-in FILE', '--legacy-server-connect',
      '-w, --connect-timeout TIME', '-i, --idle-timeout TIME', '--send-only', '--recv-only', '--exec CMD', '--version', 'unix:PATH']) {
      expect(connect.stdout.toString()).toContain(flag);
    }
    for (const flag of ['--ca FILE', '--verify', '--require-client-cert', '--keylog FILE', '--tls-max VERSION', '-k, --keep-open',
      '-i, --idle-timeout TIME', '--send-only', '--recv-only', '--version', 'unix:PATH']) {
      expect(listen.stdout.toString()).toContain(flag);
    }
  });
});

describe('flags written as openssl and ncat write them', () => {
  const cases: Array<[string[], string]> = [
    [['connect', 'localhost:1', '-servername', 'x'], 'unknown flag -servername (did you mean --servername?)'],
    [['connect', '-connect', 'localhost:1'], 'unknown flag -connect (did you mean the address as an argument: wirestack connect HOST:PORT?)'],
    [['connect', 'localhost:1', '--ssl'], 'unknown flag --ssl (did you mean --tls?)'],
    [['listen', '0', '-Verify', '1'], 'unknown flag -Verify (did you mean --require-client-cert?)'],
    [['connect', 'localhost:1', '--sh-exec', 'cat'], 'unknown flag --sh-exec (did you mean --exec?)'],
  ];
  it('are answered with the wirestack flag to use: exit 2, one line', async () => {
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach(({ code, stderr }, i) => {
      expect({ args: cases[i]![0], code }).toEqual({ args: cases[i]![0], code: 2 });
      expect(lines(stderr)).toEqual([expect.stringContaining(`ERR_WIRESTACK_INVALID_ARGUMENT: ${cases[i]![1]} (try: see wirestack`)]);
    });
  });
});

describe('Unix sockets', () => {
  it('listen unix:PATH and connect to it as unix:PATH or a path, plain and over TLS; the socket file goes when listen is stopped', async () => {
    const path = file('plain.sock');
    const listener = await startListenUnix(path, ['--echo']);
    try {
      const byPrefix = await run(['connect', `unix:${path}`, '-q'], 'hello over unix\n');
      expect(byPrefix).toMatchObject({ code: 0, stderr: '' });
      expect(byPrefix.stdout.toString()).toBe('hello over unix\n');
      const byPath = await run(['connect', path, '-q'], 'a path works too\n');
      expect(byPath.stdout.toString()).toBe('a path works too\n');
      expect(listener.stderr()).toMatch(/#1 connection on unix:.*plain\.sock\n.*#1 closed\n.*#2 connection on/);
    } finally {
      listener.child.kill('SIGTERM');
    }
    expect(await listener.done).toBe(143);
    expect(existsSync(path)).toBe(false);

    const tlsPath = file('tls.sock');
    const tlsListener = await startListenUnix(tlsPath, [...SERVER, '--echo', '--once']);
    // Over a Unix socket the name checked is localhost unless --servername says otherwise.
    const client = await run(['connect', `unix:${tlsPath}`, '--tls', '--ca', file('ca.pem')], 'hello over unix and TLS\n');
    expect(client.code).toBe(0);
    expect(client.stdout.toString()).toBe('hello over unix and TLS\n');
    expect(client.stderr).toMatch(/connected to .*tls\.sock, TLSv1\.3, .*CN=localhost, verified/);
    expect(await tlsListener.done).toBe(0);
  });

  it('a socket path nobody listens on, and a listen path whose directory is missing: one line each, with what to try', async () => {
    const refused = await run(['connect', `unix:${file('nobody.sock')}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_WIRESTACK_CONNECT: .*ENOENT.*\(try: check the socket path, and that a server listens on it\)/);
    const missing = await run(['listen', `unix:${file('no/such/dir.sock')}`, '--echo']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ERR_WIRESTACK_LISTEN: .*(ENOENT|EACCES).*\(try: the socket file cannot be made there: check that its directory exists/);
  });
});

describe('TLS flags', () => {
  it('--keylog on both ends writes NSS key log lines; --tls-max TLSv1.2 caps the version', async () => {
    const listener = await startListen([...SERVER, '--keylog', file('server.keys'), '--echo', '--once']);
    const client = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'), '--tls-max', 'TLSv1.2',
      '--keylog', file('client.keys')], 'keys please\n');
    expect(client.code).toBe(0);
    expect(client.stderr).toMatch(/connected to localhost:\d+, TLSv1\.2, /);
    expect(await listener.done).toBe(0);
    // TLS 1.2 logs one CLIENT_RANDOM line per session, the same at both ends.
    const clientKeys = readFileSync(file('client.keys'), 'utf8');
    expect(clientKeys).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
    expect(readFileSync(file('server.keys'), 'utf8')).toBe(clientKeys);
  });

  it('--showcerts prints the chain, the server certificate then its CA (PEM each), on stderr, stdout untouched', async () => {
    const listener = await startListen([...SERVER, '--echo', '--once']);
    const client = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'), '--showcerts', '-q'], 'x');
    expect(client.code).toBe(0);
    expect(client.stdout.toString()).toBe('x');
    expect(client.stderr).toMatch(/^certificate 0 s:CN=localhost i:CN=[^\n]+\n {2}valid \S+ to \S+, SHA-256 [0-9A-F:]{95}\n-----BEGIN CERTIFICATE-----\n/);
    const pems = client.stderr.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(pems.map((pem) => new X509Certificate(pem).fingerprint256))
      .toEqual([new X509Certificate(certs.server.cert).fingerprint256, new X509Certificate(certs.ca.cert).fingerprint256]);
    expect(client.stderr).toMatch(/^certificate 1 s:CN=/m);
    await listener.done;
  });

  it('--sess-out then --sess-in: the second connection resumes the session of the first', async () => {
    const listener = await startListen([...SERVER, '--echo']);
    try {
      const common = ['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem')];
      const first = await run([...common, '--sess-out', file('session.bin')], 'first\n');
      expect(first.code).toBe(0);
      expect(first.stderr).not.toContain('resumed');
      expect(readFileSync(file('session.bin')).length).toBeGreaterThan(0);
      const second = await run([...common, '--sess-in', file('session.bin')], 'second\n');
      expect(second.code).toBe(0);
      expect(second.stdout.toString()).toBe('second\n');
      expect(second.stderr).toMatch(/connected to localhost:\d+, TLSv1\.3, TLS_\w+, resumed, verified/);
    } finally {
      listener.child.kill();
    }
  });

  it('listen --ca --require-client-cert: a client with --cert/--key gets in, one without is refused at the handshake', async () => {
    const listener = await startListen([...SERVER, '--ca', file('ca.pem'), '--require-client-cert', '--echo']);
    try {
      const good = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'),
        '--cert', file('client.pem'), '--key', file('client.key')], 'mutual\n');
      expect(good.code).toBe(0);
      expect(good.stdout.toString()).toBe('mutual\n');
      await stderrHas(listener, /#1 TLSv1\.3, TLS_\w+, client CN=client, verified\n/);
      const anonymous = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem')], 'let me in\n');
      expect(anonymous.code).toBe(1);
      // TLS 1.3: the client has finished its handshake when the server's refusal arrives.
      expect(lines(anonymous.stderr).at(-1)).toEqual(expect.stringMatching(
        /ERR_WIRESTACK_TLS_ALERT: tls: the peer sent a fatal "certificate_required" alert \(try: the peer wants a client certificate: --cert FILE --key FILE\)$/));
      await stderrHas(listener, /wirestack listen: #2 127\.0\.0\.1:\d+: ERR_WIRESTACK_TLS_HANDSHAKE: .*did not return a certificate.*\(try: the client sent no certificate, and --require-client-cert wants one/);
    } finally {
      listener.child.kill();
    }
  });

  it('listen --ca --verify: a client without a certificate gets in; one from another CA is refused, named and coded', async () => {
    const listener = await startListen([...SERVER, '--ca', file('ca.pem'), '--verify', '--echo']);
    try {
      const anonymous = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem')], 'no cert\n');
      expect(anonymous.code).toBe(0);
      expect(anonymous.stdout.toString()).toBe('no cert\n');
      await stderrHas(listener, /#1 TLSv1\.3, TLS_\w+, no client certificate\n/);
      const stranger = await run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'),
        '--cert', file('other-client.pem'), '--key', file('other-client.key')], 'a stranger\n');
      expect(stranger.code).toBe(1);
      expect(stranger.stdout.length).toBe(0);
      await stderrHas(listener, /wirestack listen: #2 127\.0\.0\.1:\d+: ERR_WIRESTACK_TLS_UNKNOWN_CA: refused the client's certificate: .*\(try: the client needs a certificate signed by a CA in --ca FILE\)\n/);
    } finally {
      listener.child.kill();
    }
  });

  it('--legacy-server-connect lets the node engine reach a forge server (no secure renegotiation); without it, refused', async () => {
    const listener = await startListen(['--tls', '--tls-engine', 'forge', '--cert', file('server.pem'), '--key', file('server.key'), '--echo']);
    try {
      const legacy = ['--tls-min', 'TLSv1', '--tls-max', 'TLSv1.1', '--ciphers', 'AES128-SHA:@SECLEVEL=0'];
      const common = ['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'), ...legacy];
      const refused = await run(common, 'old\n');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/ERR_WIRESTACK_TLS_HANDSHAKE: .*unsafe legacy renegotiation disabled/);
      const reached = await run([...common, '--legacy-server-connect'], 'old\n');
      expect(reached.code).toBe(0);
      expect(reached.stdout.toString()).toBe('old\n');
      expect(reached.stderr).toMatch(/connected to localhost:\d+, TLSv1, TLS_RSA_WITH_AES_128_CBC_SHA, CN=localhost, verified/);
    } finally {
      listener.child.kill();
    }
  });
});

describe('ncat habits', () => {
  it('-k with stdin/stdout: connections one after another, then two at once sharing stdin (broadcast) and stdout', async () => {
    const listener = await startListen(['-k', '-q']);
    try {
      // One after another: each sends a line and ends; our side of each closes after its end.
      for (const word of ['first', 'second']) {
        const client = await run(['connect', `127.0.0.1:${listener.port}`, '-q'], `${word}\n`);
        expect(client.code).toBe(0);
      }
      await stdoutHas(listener, 'first\nsecond\n');
      // At once: what standard input says reaches both; what each says is printed.
      const a = start(['connect', `127.0.0.1:${listener.port}`, '-q']);
      const b = start(['connect', `127.0.0.1:${listener.port}`, '-q']);
      a.child.stdin.write('from a\n');
      b.child.stdin.write('from b\n');
      await stdoutHas(listener, 'from a\n');
      await stdoutHas(listener, 'from b\n');
      listener.child.stdin.write('to everyone\n');
      await Promise.all([stdoutHas(a, 'to everyone\n'), stdoutHas(b, 'to everyone\n')]);
      // The end of standard input closes our side of both; theirs end when their input does.
      listener.child.stdin.end();
      a.child.stdin.end();
      b.child.stdin.end();
      expect([await a.done, await b.done]).toEqual([0, 0]);
      expect([a.stdout().toString(), b.stdout().toString()]).toEqual(['to everyone\n', 'to everyone\n']);
      // After the end of standard input a new connection gets our end at once, and is still heard.
      const late = await run(['connect', `127.0.0.1:${listener.port}`, '-q'], 'late\n');
      expect(late).toMatchObject({ code: 0 });
      await stdoutHas(listener, 'late\n');
      expect(listener.child.exitCode).toBe(null);   // -k: still serving
    } finally {
      listener.child.kill();
    }
  });

  it('-k --recv-only: uploads from two clients at once all arrive whole (SHA-256 of each)', async () => {
    const listener = await startListen(['-k', '--recv-only', '-q']);
    try {
      // Two alphabets, so that each upload can be picked out of the mix (chunks of the two interleave).
      const hex = randomBytes(64 * 1024).toString('hex');
      const uploads = [hex, [...randomBytes(64 * 1024).toString('hex')].map((c) => 'ghijklmnopqrstuv'['0123456789abcdef'.indexOf(c)]).join('')];
      const results = await Promise.all(uploads.map((u) => run(['connect', `127.0.0.1:${listener.port}`, '-q'], u)));
      expect(results.map((r) => r.code)).toEqual([0, 0]);
      await stdoutHas(listener, uploads[0]!.slice(-32));
      await stdoutHas(listener, uploads[1]!.slice(-32));
      const out = listener.stdout().toString();
      expect(out.length).toBe(uploads[0]!.length + uploads[1]!.length);
      expect(sha256(Buffer.from(out.replace(/[g-v]/g, '')))).toBe(sha256(Buffer.from(uploads[0]!)));
      expect(sha256(Buffer.from(out.replace(/[0-9a-f]/g, '')))).toBe(sha256(Buffer.from(uploads[1]!)));
    } finally {
      listener.child.kill();
    }
  });

  it('-w: a server that accepts but never answers the TLS handshake is given up on after TIME', async () => {
    const { server, port } = await tcpServer(() => {});
    try {
      const started = performance.now();
      const { code, stderr } = await run(['connect', `127.0.0.1:${port}`, '--tls', '--insecure', '-w', '300ms']);
      expect(code).toBe(1);
      expect(stderr).toMatch(/ERR_WIRESTACK_TLS_HANDSHAKE_TIMEOUT: .*300 ?ms/);
      // Well before the default 10 s (a bound for the flag taking effect, not a speed claim).
      expect(performance.now() - started).toBeLessThan(8000);
    } finally {
      server.close();
    }
  });

  it('--idle-timeout: connect gives up on a silent peer with ERR_WIRESTACK_IDLE_TIMEOUT; listen closes a silent client', async () => {
    const { server, port } = await tcpServer(() => {});
    try {
      const client = start(['connect', `127.0.0.1:${port}`, '-q', '-i', '300ms']);
      expect(await client.done).toBe(1);
      expect(lines(client.stderr())).toEqual([expect.stringMatching(
        /^wirestack connect: ERR_WIRESTACK_IDLE_TIMEOUT: nothing moved either way for 300 ms \(--idle-timeout\) \(try: /)]);
    } finally {
      server.close();
    }
    const listener = await startListen(['--echo', '--once', '--idle-timeout', '0.3']);
    const silent = start(['connect', `127.0.0.1:${listener.port}`, '-q']);
    silent.child.stdin.write('one line, then nothing\n');
    expect(await listener.done).toBe(1);
    expect(listener.stderr()).toMatch(/#1 127\.0\.0\.1:\d+: ERR_WIRESTACK_IDLE_TIMEOUT: /);
    expect(silent.stdout().toString()).toBe('one line, then nothing\n');
    // Its connection was reset under it (seen at once, or when it next writes: its end).
    silent.child.stdin.end();
    expect(await silent.done).toBe(1);
  });

  it('--send-only: input sent whole, what the server sends is not printed, exit without waiting for the server\'s end', async () => {
    const upload = randomBytes(3 * 1024 * 1024);
    const received: Buffer[] = [];
    const { server, port } = await tcpServer((socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      // A chatty server that never ends its side.
      socket.write(randomBytes(256 * 1024));
    });
    try {
      const client = await run(['connect', `127.0.0.1:${port}`, '-q', '--send-only'], upload);
      expect(client.code).toBe(0);
      expect(client.stdout.length).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sha256(Buffer.concat(received))).toBe(sha256(upload));
    } finally {
      server.close();
    }
  });

  it('--recv-only: stdin is not read; what the peer sends is printed, and our side closes after its end', async () => {
    const download = randomBytes(2 * 1024 * 1024);
    let ourEndSeen = false;
    const { server, port } = await tcpServer((socket) => {
      socket.on('data', () => { throw new Error('--recv-only sent something'); });
      socket.on('end', () => { ourEndSeen = true; });
      socket.end(download);
    });
    try {
      // stdin stays open: only the peer's end finishes the command.
      const client = start(['connect', `127.0.0.1:${port}`, '-q', '--recv-only']);
      client.child.stdin.write('never sent\n');
      expect(await client.done).toBe(0);
      expect(sha256(client.stdout())).toBe(sha256(download));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ourEndSeen).toBe(true);
    } finally {
      server.close();
    }
    // listen --send-only: serves its input; what the client says is not printed.
    const listener = await startListen(['--send-only', '-q']);
    listener.child.stdin.end('from the listener\n');
    const client = await run(['connect', `127.0.0.1:${listener.port}`, '-q'], 'not printed by listen\n');
    expect(client.stdout.toString()).toBe('from the listener\n');
    expect(await listener.done).toBe(0);
    expect(listener.stdout().length).toBe(0);
  });

  it('connect --exec: a child joined to the connection answers the server; its exit status is the command\'s', async () => {
    const { server, port } = await tcpServer((socket) => {
      socket.write('what is your name?\n');
      let said = '';
      socket.on('data', (chunk: Buffer) => { said += chunk.toString(); });
      socket.on('end', () => socket.end(`you said: ${said}`));
    });
    try {
      const asked = await run(['connect', `127.0.0.1:${port}`, '-q', '--exec', 'read q; echo "wirestack, to: $q"; exec >&-; cat >&2']);
      expect(asked.code).toBe(0);
      // The child closed its output (our side's end), then copied the server's answer to its stderr, which is ours.
      expect(asked.stderr).toBe('you said: wirestack, to: what is your name?\n');
      const failed = await run(['connect', `127.0.0.1:${port}`, '-q', '--exec', 'read q; exit 3']);
      expect(failed.code).toBe(3);
      expect(lines(failed.stderr)).toEqual(['wirestack: read q; exit 3 exited with status 3']);
    } finally {
      server.close();
    }
  });
});

describe('messages that point the right way', () => {
  it('listen on a host that does not resolve: not "pick another port"', async () => {
    const { code, stderr } = await run(['listen', 'no-such-host.invalid:0', '--echo']);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([expect.stringMatching(/ERR_WIRESTACK_LISTEN: cannot listen on no-such-host\.invalid:0: .*ENOTFOUND.*\(try: the host name does not resolve: /)]);
  });

  it('--ca with a key, --key with a certificate, --cert and --key that do not belong together: named for what they are', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['connect', 'localhost:1', '--tls', '--ca', file('server.key')], /--ca: .*server\.key holds a private key, not a certificate \(give the CA's certificate\)/],
      [['listen', '0', '--tls', '--cert', file('server.pem'), '--key', file('server.pem')], /--key: .*server\.pem holds a certificate, not a private key/],
      [['listen', '0', '--tls', '--cert', file('server.pem'), '--key', file('client.key')], /--cert and --key do not match: .*client\.key is not the key of the certificate in .*server\.pem/],
      [['listen', '0', '--tls', '--self-signed', '--verify'], /--verify needs --ca FILE/],
      [['listen', '0', '--tls', '--self-signed', '--ca', file('ca.pem')], /--ca on listen needs --verify or --require-client-cert/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach(({ code, stderr }, i) => {
      expect(code).toBe(2);
      expect(lines(stderr)).toEqual([expect.stringMatching(cases[i]![1])]);
    });
  });

  it('a client that refuses our certificate with an alert: ERR_WIRESTACK_TLS_ALERT under --exec (even one that writes at once) as under --echo', async () => {
    for (const mode of [['--echo'], ['--exec', 'echo early words; cat'], ['--exec', 'cat']]) {
      const listener = await startListen([...SERVER, ...mode, '--once']);
      // No -CAfile: s_client does not trust our certificate and says so with an unknown_ca alert.
      const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${listener.port}`, '-verify_return_error']);
      watch(client);
      client.stdin.end();
      await exited(client);
      expect(await listener.done).toBe(1);
      expect({ mode, line: lines(listener.stderr()).find((l) => l.startsWith('wirestack listen:')) })
        .toEqual({ mode, line: expect.stringMatching(/ERR_WIRESTACK_TLS_ALERT: tls: the peer sent a fatal "unknown_ca" alert/) });
    }
  });

  it('a compressed stream cut off by the peer: the hint says cut off, not "both ends need --deflate"', async () => {
    const listener = await startListen(['--deflate', '--once', '-q']);
    const compressed = deflateRawSync(randomBytes(100_000));
    const { createConnection } = await import('node:net');
    const socket = createConnection({ host: '127.0.0.1', port: listener.port }, () => socket.end(compressed.subarray(0, compressed.length / 2)));
    socket.on('error', () => {});
    expect(await listener.done).toBe(1);
    expect(listener.stderr()).toMatch(/ERR_WIRESTACK_INFLATE: .*unexpected end of file.*\(try: the compressed stream was cut off before its end/);
    socket.destroy();
  });
});

describe('a listener tags its lines per connection', () => {
  it('two connections at once, each with a log below and above TLS: every log line carries its connection\'s #N', async () => {
    const listener = await startListen(['--log', ...SERVER, '--log=text', '--echo']);
    try {
      const clients = await Promise.all(['one', 'two'].map((word) =>
        run(['connect', `localhost:${listener.port}`, '--tls', '--ca', file('ca.pem'), '-q'], `${word}\n`)));
      expect(clients.map((c) => c.code)).toEqual([0, 0]);
      await stderrHas(listener, /#2 closed/);
      await stderrHas(listener, /#1 closed/);
      const err = listener.stderr();
      const logLines = lines(err).filter((l) => / (wire|over-tls) \+[\d.]+ms /.test(l));
      expect(logLines.length).toBeGreaterThan(8);
      for (const line of logLines) expect(line).toMatch(/^#[12] (wire|over-tls) \+/);
      // Each connection's text log shows its own word.
      const words: Record<string, string> = {};
      for (const [, n, word] of err.matchAll(/^#(\d) over-tls \+[\d.]+ms in \d+ bytes\n {2}\| (\w+)\\n$/gm)) words[n!] = word!;
      expect(Object.values(words).sort()).toEqual(['one', 'two']);
      for (const n of ['1', '2']) expect(err).toMatch(new RegExp(`wirestack: #${n} connection from 127\\.0\\.0\\.1:\\d+\\n`));
    } finally {
      listener.child.kill();
    }
  });
});

// The core subset, run by another runtime (Bun, Deno) on the built package:
// `wirestack` and `wirestack/testing` imported by name, as a project that
// depends on wirestack imports them, so the runtime's own export conditions
// pick the build. Each check prints one JSON line: its name, and `ok` or
// the error. test/runtimes/other-runtimes.test.ts runs this and reads them.
import { createHash, randomBytes } from 'node:crypto';
import { connect, deflate, identity, listen, log, tls, webSocket, wrap } from 'wirestack';
import { checkFilter, delay, duplexPair, fault, fragment, makeCertificates, throttle } from 'wirestack/testing';

const small = { bigTransferBytes: 1024 * 1024, roundTripBytes: 256 * 1024, timeout: 30_000 };
const certs = makeCertificates();
const nodeTls = {
  client: () => tls.client({ ca: certs.ca.cert }),
  server: () => tls.server({ cert: certs.server.cert, key: certs.server.key }),
};
const forgeTls = {
  client: () => tls.client({ engine: 'forge', minVersion: 'TLSv1', ca: certs.ca.cert }),
  server: () => tls.server({ engine: 'forge', minVersion: 'TLSv1', cert: certs.server.cert, key: certs.server.key }),
};

const checks = {
  // A memory pair, wrapped by hand: send, receive, half-close both ways.
  'memory-pair': async () => {
    const [a, b] = duplexPair();
    const client = wrap(a, [identity()], { role: 'client' });
    const server = wrap(b, [identity()], { role: 'server' });
    await client.send('ping');
    const got = await server.receiveExactly(4);
    if (got.toString() !== 'ping') throw new Error(`got ${got}`);
    await client.close();
    if ((await server.receive()) !== null) throw new Error('no end');
    await server.close();
  },
  'checkFilter-identity': () => checkFilter(() => ({ client: identity(), server: identity() }), small),
  'checkFilter-log-deflate': () => checkFilter(() => ({
    client: [log({ sink: () => {} }), deflate()],
    server: [log({ sink: () => {} }), deflate()],
  }), small),
  // The testing filters, faults set past the end of the traffic (their plumbing only).
  'checkFilter-testing-filters': () => {
    const stack = () => [fragment({ seed: 5, min: 1, max: 3000 }), delay({ ms: 0, jitter: 1, seed: 5 }), throttle(256 << 20),
      fault({ corruptAt: [2 ** 40], stallAt: 2 ** 40, direction: 'both' })];
    return checkFilter(() => ({ client: stack(), server: stack() }), small);
  },
  'checkFilter-tcp': () => checkFilter(() => ({ client: deflate(), server: deflate() }), { ...small, transport: 'tcp' }),
  'tcp-connect-listen': () => echoOverTcp([], []),
  'tls-forge-memory': () => checkFilter(() => ({ client: forgeTls.client(), server: forgeTls.server() }), small),
  'tls-forge-tcp': () => echoOverTcp([forgeTls.server()], [forgeTls.client()]),
  // The filters are made first, so that a runtime where the engine refuses reports its code.
  'tls-node-memory': () => {
    const pair = { client: nodeTls.client(), server: nodeTls.server() };
    return checkFilter(() => pair, small);
  },
  'tls-node-tcp': () => echoOverTcp([nodeTls.server()], [nodeTls.client()]),
  'websocket': async () => {
    const listener = await listen({ host: '127.0.0.1', port: 0, webSocket: true }, [deflate()], echo);
    try {
      await roundTrip(await webSocket(`ws://127.0.0.1:${listener.address().port}/`, [deflate()]));
    } finally {
      await listener.close({ drain: false });
    }
  },
};

async function echo(conn) {
  for await (const chunk of conn) await conn.send(chunk);
  await conn.close();
}

// A listener over `serverFilters` echoing to a client over `clientFilters`: 1 MiB by SHA-256.
async function echoOverTcp(serverFilters, clientFilters) {
  const listener = await listen({ host: '127.0.0.1', port: 0 }, serverFilters, echo);
  try {
    await roundTrip(await connect({ host: 'localhost', port: listener.address().port }, clientFilters));
  } finally {
    await listener.close({ drain: false });
  }
}

async function roundTrip(conn) {
  const data = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  const reading = (async () => {
    for await (const chunk of conn) hash.update(chunk);
  })();
  await conn.send(data);
  await conn.close();
  await reading;
  if (hash.digest('hex') !== createHash('sha256').update(data).digest('hex')) throw new Error('the echo differs (SHA-256)');
}

// Which build the runtime's export conditions gave it.
console.log(JSON.stringify({ build: import.meta.resolve('wirestack') }));

// Each check alone, with a deadline, so that one that hangs is reported and the rest still run.
for (const [name, run] of Object.entries(checks)) {
  let timer;
  const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after 60 s')), 60_000); });
  try {
    await Promise.race([run(), deadline]);
    console.log(JSON.stringify({ name, ok: true }));
  } catch (err) {
    console.log(JSON.stringify({ name, ok: false, error: `${err?.code ?? err?.name ?? 'Error'}: ${err?.message ?? String(err)}` }));
  } finally {
    clearTimeout(timer);
  }
}
process.exit(0);
